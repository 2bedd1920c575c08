package daemon

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/driftd/driftd/internal/config"
)

// operatorToken writes a token file and returns the http.auth tokens
// naming it an operator, and the token.
func operatorToken(t testing.TB) ([]config.TokenAuth, string) {
	t.Helper()
	tok := "op-token-0123456789abcdef"
	file := filepath.Join(t.TempDir(), "operator.token")
	must(t, os.WriteFile(file, []byte(tok+"\n"), 0o600))
	return []config.TokenAuth{{Name: "ops", File: file, Role: config.RoleOperator}}, tok
}

// send makes a request with an optional bearer token and JSON body.
func send(t testing.TB, method, url, token, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewBufferString(body))
	must(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	return resp
}
