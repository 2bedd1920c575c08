package sts

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzPresigned: any query string and signed-header value is answered
// without a panic, and never with a caller identity (no valid signature
// can be guessed).
func FuzzPresigned(f *testing.F) {
	svc := NewPresigned(PresignOptions{})
	svc.AddCredentials("AKIAOPERATOR0000001", "s3cret", "", "arn:aws:iam::123456789012:user/alice")
	f.Add("Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAOPERATOR0000001%2F20261203%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20261203T120000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=00", "x")
	f.Add("X-Amz-Signature=1&Action=x&X-Amz-Credential=a/b/c/sts/aws4_request", "")
	f.Add("%zz", "")
	f.Fuzz(func(t *testing.T, query, header string) {
		r := httptest.NewRequest(http.MethodGet, "http://sts.us-east-1.amazonaws.com/", nil)
		r.URL.RawQuery = query
		r.Header.Set("X-Driftd-Server-Id", header)
		w := httptest.NewRecorder()
		svc.ServeHTTP(w, r)
		if w.Code == http.StatusOK {
			t.Fatalf("identity answered for %q", query)
		}
	})
}
