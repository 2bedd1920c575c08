package securityhub

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzRequests: any body to any operation gets a JSON answer (a result or
// an error), never a panic, and a successful import never stores more
// findings than it reports.
func FuzzRequests(f *testing.F) {
	f.Add("BatchImportFindings", `{"Findings":[{"Id":"x","SchemaVersion":"2018-10-08"}]}`)
	f.Add("BatchImportFindings", `{"Findings":[{"Resources":[{}],"Types":["a/b/c/d"],"Severity":{"Label":7}}]}`)
	f.Add("BatchUpdateFindings", `{"FindingIdentifiers":[{"Id":"x","ProductArn":"y"}],"Workflow":{"Status":"RESOLVED"}}`)
	f.Add("GetFindings", `{"Filters":{"Id":[{"Value":"x","Comparison":"PREFIX"}]},"MaxResults":0,"NextToken":"-1"}`)
	f.Add("GetFindings", `[]`)
	f.Fuzz(func(t *testing.T, op, body string) {
		svc := New(Options{})
		method, path := http.MethodPost, "/findings/import"
		switch op {
		case "BatchUpdateFindings":
			method, path = http.MethodPatch, "/findings/batchupdate"
		case "GetFindings":
			path = "/findings"
		}
		w := httptest.NewRecorder()
		svc.ServeHTTP(w, httptest.NewRequest(method, path, strings.NewReader(body)))
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("answer is not JSON: %q", w.Body.String())
		}
		if w.Code == 200 && op == "BatchImportFindings" {
			var out struct{ SuccessCount int }
			_ = json.Unmarshal(w.Body.Bytes(), &out)
			if len(svc.findings) > out.SuccessCount {
				t.Fatalf("%d stored, %d reported", len(svc.findings), out.SuccessCount)
			}
		}
	})
}
