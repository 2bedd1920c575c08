package configservice

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzPutEvaluations: any body gets a JSON answer, never a panic; nothing
// is recorded without an issued token.
func FuzzPutEvaluations(f *testing.F) {
	f.Add(`{"ResultToken":"t","Evaluations":[{"ComplianceResourceType":"AWS::EC2::Instance","ComplianceResourceId":"i-1","ComplianceType":"COMPLIANT","OrderingTimestamp":1.7e9}]}`)
	f.Add(`{"ResultToken":"t","TestMode":true,"Evaluations":[{"OrderingTimestamp":-1e308}]}`)
	f.Add(`{"Evaluations":null}`)
	f.Add(`"x"`)
	f.Fuzz(func(t *testing.T, body string) {
		svc := New()
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("X-Amz-Target", TargetPrefix+".PutEvaluations")
		w := httptest.NewRecorder()
		svc.ServeHTTP(w, r)
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("answer is not JSON: %q", w.Body.String())
		}
		if len(svc.evals) != 0 {
			t.Fatal("recorded evaluations without an issued token")
		}
	})
}
