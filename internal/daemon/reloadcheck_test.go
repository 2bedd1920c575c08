package daemon

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// TestReloadRunsStartupChecksAndRedacts: POST /-/reload runs the start-up
// checks (config.LoadChecked) like daemon start and `driftd validate`, and
// its 500 body lists every problem without echoing a secret. New makes no
// AWS call, so no endpoint is needed.
func TestReloadRunsStartupChecksAndRedacts(t *testing.T) {
	dir := t.TempDir()
	must(t, os.Mkdir(filepath.Join(dir, "baselines"), 0o755))
	file := filepath.Join(dir, "driftd.yaml")
	good := "baselines: [{dir: {path: baselines}}]\n"
	must(t, os.WriteFile(file, []byte(good), 0o644))
	a, err := New(context.Background(), Options{ConfigFile: file, Logger: zap.NewNop(), Registry: prometheus.NewRegistry(),
		AWS: &aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}})
	must(t, err)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)

	t.Setenv("DRIFTD_TEST_RELOAD_SECRET", "")
	must(t, os.WriteFile(file, []byte(good+`
remediation:
  hook: {url: "ftp://deploy:hunter2@hooks.example.com/x?token=s3cr3t"}
alerting:
  sinks: [{name: hook, type: webhook, url: "https://u:pw0rd@hooks.example.com/x", secret_env: DRIFTD_TEST_RELOAD_SECRET}]
`), 0o644))
	resp, err := http.Post(srv.URL+"/-/reload", "", nil)
	must(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if !strings.Contains(string(body), `remediation.hook.url: "ftp://***@hooks.example.com/x?token=***" must be an http:// or https:// URL`) {
		t.Errorf("body lacks the hook.url error:\n%s", body)
	}
	// The file itself is valid apart from the hook URL; the secret check
	// runs once the file validates.
	for _, s := range []string{"hunter2", "s3cr3t", "pw0rd"} {
		if strings.Contains(string(body), s) {
			t.Errorf("secret %q echoed in the reload body:\n%s", s, body)
		}
	}

	must(t, os.WriteFile(file, []byte(good+`
alerting:
  sinks: [{name: hook, type: webhook, url: "https://u:pw0rd@hooks.example.com/x", secret_env: DRIFTD_TEST_RELOAD_SECRET}]
`), 0o644))
	resp, err = http.Post(srv.URL+"/-/reload", "", nil)
	must(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body), "alerting.sinks[0].secret_env: environment variable DRIFTD_TEST_RELOAD_SECRET is unset or empty") {
		t.Errorf("unset secret accepted on reload: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "pw0rd") {
		t.Errorf("secret echoed: %s", body)
	}
	t.Setenv("DRIFTD_TEST_RELOAD_SECRET", "x")
	resp, err = http.Post(srv.URL+"/-/reload", "", nil)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("valid reload: %d", resp.StatusCode)
	}
}
