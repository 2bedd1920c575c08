package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateRunsWhatRunRuns: every configuration `driftd run` refuses at
// start, `driftd validate` refuses too, with the same message (both call
// config.LoadChecked with daemon.CheckEnv). Before, validate said OK to the
// first four.
func TestValidateRunsWhatRunRuns(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "baselines"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DRIFTD_TEST_UNSET_SECRET", "")
	const head = "aws: {region: eu-west-1}\nhttp: {listen: \"127.0.0.1:0\"}\n"
	const base = head + "baselines: [{dir: {path: baselines}}]\n"
	for _, tc := range []struct {
		name, yaml, want string
		secrets          []string // must not appear anywhere
	}{
		{"secret env unset", base + `
alerting:
  sinks: [{name: hook, type: webhook, url: "https://hooks.example.com/x", secret_env: DRIFTD_TEST_UNSET_SECRET}]
`, "alerting.sinks[0].secret_env: environment variable DRIFTD_TEST_UNSET_SECRET is unset or empty", nil},
		{"secret file missing", base + `
alerting:
  sinks: [{name: hook, type: webhook, url: "https://hooks.example.com/x", secret_file: /nonexistent/driftd/hook-secret}]
`, "alerting.sinks[0].secret_file: /nonexistent/driftd/hook-secret: no such file or directory", nil},
		{"listen port out of range", "aws: {region: eu-west-1}\nhttp: {listen: \":99999\"}\nbaselines: [{dir: {path: baselines}}]\n",
			`http.listen: ":99999": port 99999 is out of range 0-65535`, nil},
		{"baseline dir missing", head + "baselines: [{dir: {path: missing}}]\n",
			"baselines[0].dir.path: " + filepath.Join(dir, "missing") + ": no such file or directory", nil},
		{"hook url with credentials", base + `
remediation:
  hook: {url: "ftp://deploy:hunter2@hooks.example.com/x?token=s3cr3t"}
`, `remediation.hook.url: "ftp://***@hooks.example.com/x?token=***" must be an http:// or https:// URL`, []string{"hunter2", "s3cr3t"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yaml")
			if err := os.WriteFile(f, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := (&validateCmd{Config: f}).run(&out); exitCode(err) != 1 {
				t.Errorf("validate: exit %d\n%s", exitCode(err), out.String())
			}
			if !strings.Contains(out.String(), f+": INVALID (1 errors)\n  "+tc.want+"\n") {
				t.Errorf("validate output:\n%s\nwant the line:\n  %s", out.String(), tc.want)
			}
			err := (&runCmd{Config: f}).Run(&Globals{LogLevel: "error"})
			var ee *ExitError
			if !errors.As(err, &ee) || ee.Code != 2 || ee.Err == nil {
				t.Fatalf("run: %v", err)
			}
			if !strings.Contains(ee.Err.Error(), "\n  "+tc.want) {
				t.Errorf("run refused with:\n%v\nwant:\n  %s", ee.Err, tc.want)
			}
			for _, s := range tc.secrets {
				if strings.Contains(out.String(), s) || strings.Contains(ee.Err.Error(), s) {
					t.Errorf("secret %q echoed", s)
				}
			}
		})
	}
}

func TestValidatePrintsWarnings(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "driftd.yaml")
	if err := os.WriteFile(f, []byte("baselines: [{dir: {path: .}}]\nschedule: {cron: \"@every 10s\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := (&validateCmd{Config: f}).run(&out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), f+": OK\n  warning: schedule.cron: \"@every 10s\" scans more often than once a minute") {
		t.Errorf("output:\n%s", out.String())
	}
}

// TestRunConfigCheck: `driftd run --config.check` is validate under run's
// name (as Prometheus exporters' --config.check): it never starts the daemon.
func TestRunConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte("baselines: [{dir: {path: .}}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("baselines: [{dir: {path: ./missing}}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := run([]string{"run", "-c", good, "--config.check"}); code != 0 {
		t.Errorf("valid file: exit %d", code)
	}
	if code := run([]string{"run", "-c", bad, "--config.check"}); code != 1 {
		t.Errorf("invalid file: exit %d", code)
	}
}

// TestValidateWebConfigFile: the web configuration file run reads at start
// is checked by validate and run --config.check too.
func TestValidateWebConfigFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "driftd.yaml")
	good := filepath.Join(dir, "web.yml")
	bad := filepath.Join(dir, "web-bad.yml")
	if err := os.WriteFile(f, []byte("baselines: [{dir: {path: .}}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A bcrypt-shaped hash: the check reads the file, it verifies no password.
	if err := os.WriteFile(good, []byte("basic_auth_users:\n  ops: $2y$10$X3s7Kq0tZy0oR8X0xXn7Ze1t9n7oYz9xXy4Qm2lq2aQ2p7d0h3d1G\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("tls_server_config:\n  cert_file: "+filepath.Join(dir, "missing.crt")+"\n  key_file: "+filepath.Join(dir, "missing.key")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := (&validateCmd{Config: f, WebConfigFile: good}).run(&out); err != nil {
		t.Fatalf("good web file: %v\n%s", err, out.String())
	}
	out.Reset()
	err := (&validateCmd{Config: f, WebConfigFile: bad}).run(&out)
	if err == nil || !strings.Contains(out.String(), bad+": INVALID") || !strings.Contains(out.String(), "--web.config.file") {
		t.Errorf("bad web file: %v\n%s", err, out.String())
	}
	if code := run([]string{"run", "-c", f, "--web.config.file", bad, "--config.check"}); code != 1 {
		t.Errorf("run --config.check with a bad web file: exit %d", code)
	}
	if code := run([]string{"validate", "-c", f, "--web.config.file", good}); code != 0 {
		t.Errorf("validate with a good web file: exit %d", code)
	}
}
