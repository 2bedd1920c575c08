package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// fakeEnv is an Env over an in-memory file system and environment.
func fakeEnv(files fstest.MapFS, vars map[string]string) Env {
	rel := func(p string) string { return strings.TrimPrefix(filepath.Clean(p), "/") }
	return Env{
		Getenv:   func(k string) string { return vars[k] },
		ReadFile: func(p string) ([]byte, error) { return fs.ReadFile(files, rel(p)) },
		Stat:     func(p string) (fs.FileInfo, error) { return fs.Stat(files, rel(p)) },
		ResolveTCP: func(addr string) error {
			if strings.HasSuffix(addr, ":nosuchservice") {
				return errors.New("unknown port")
			}
			return nil
		},
	}
}

func TestCheck(t *testing.T) {
	files := fstest.MapFS{
		"etc/driftd/baselines/index.yaml": {Data: []byte("entries: []\n")},
		"etc/driftd/baselines/bad.yaml":   {Data: []byte("entries: {\n")},
		"etc/driftd/not-a-dir":            {Data: []byte("x")},
		"run/secrets/hook":                {Data: []byte("s3cr3t-hmac\n")},
		"run/secrets/empty":               {Data: []byte(" \n")},
		"run/secrets/slack":               {Data: []byte("not-a-url-but-secret\n")},
		"var/lib/driftd/state.json":       {Data: []byte("{}")},
		"var/lib/driftd/dir.json/x":       {Data: []byte("")},
	}
	vars := map[string]string{"HOOK_SECRET": "env-s3cr3t"}
	parseIndex := func(b []byte) error {
		if strings.Contains(string(b), "{") {
			return errors.New("decoding index: unexpected end")
		}
		return nil
	}
	base := func() *Config {
		c := Default()
		c.Baselines = Baselines{{Name: "dir", Dir: &DirBaseline{Path: "/etc/driftd/baselines"}}}
		return c
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want []string
	}{
		{"ok", func(*Config) {}, nil},
		{"index ok", func(c *Config) { c.Baselines[0].Dir.Index = "index.yaml" }, nil},
		{"dir missing", func(c *Config) { c.Baselines[0].Dir.Path = "/etc/driftd/missing" }, []string{
			"baselines[0].dir.path: /etc/driftd/missing: file does not exist",
		}},
		{"dir is a file", func(c *Config) { c.Baselines[0].Dir.Path = "/etc/driftd/not-a-dir" }, []string{
			"baselines[0].dir.path: /etc/driftd/not-a-dir is not a directory",
		}},
		{"index missing", func(c *Config) { c.Baselines[0].Dir.Index = "nope.yaml" }, []string{
			"baselines[0].dir.index: /etc/driftd/baselines/nope.yaml: file does not exist",
		}},
		{"index broken", func(c *Config) { c.Baselines[0].Dir.Index = "bad.yaml" }, []string{
			"baselines[0].dir.index: /etc/driftd/baselines/bad.yaml: decoding index: unexpected end",
		}},
		{"listen", func(c *Config) { c.HTTP.Listen = "127.0.0.1:nosuchservice" }, []string{
			`http.listen: "127.0.0.1:nosuchservice": unknown port`,
		}},
		{"state file a directory", func(c *Config) { c.State.File = "/var/lib/driftd/dir.json" }, []string{
			"state.file: /var/lib/driftd/dir.json is a directory",
		}},
		{"state file absent", func(c *Config) { c.State.File = "/var/lib/driftd/new.json" }, nil},
		{"state file present", func(c *Config) { c.State.File = "/var/lib/driftd/state.json" }, nil},
		{"config rule token variable set", func(c *Config) { c.ConfigRule = &ConfigRule{ResultTokenEnv: "HOOK_SECRET"} }, nil},
		{"config rule token variable unset", func(c *Config) { c.ConfigRule = &ConfigRule{ResultTokenEnv: "RULE_TOKEN"} }, []string{
			"config_rule.result_token_env: environment variable RULE_TOKEN is unset or empty",
		}},
		{"config rule token file absent: written later", func(c *Config) { c.ConfigRule = &ConfigRule{ResultTokenFile: "/run/driftd/token"} }, nil},
		{"secrets", func(c *Config) {
			c.Alerting.Sinks = []AlertSink{
				{Name: "a", Type: SinkWebhook, URL: "https://h/x", SecretEnv: "HOOK_SECRET"},
				{Name: "b", Type: SinkWebhook, URL: "https://h/x", SecretEnv: "UNSET_SECRET"},
				{Name: "c", Type: SinkWebhook, URL: "https://h/x", SecretFile: "/run/secrets/hook"},
				{Name: "d", Type: SinkWebhook, URL: "https://h/x", SecretFile: "/run/secrets/missing"},
				{Name: "e", Type: SinkWebhook, URL: "https://h/x", SecretFile: "/run/secrets/empty"},
				{Name: "f", Type: SinkSlack, SecretFile: "/run/secrets/slack"},
				{Name: "g", Type: SinkSNS, TopicARN: "arn:aws:sns:eu-west-1:123456789012:t"},
			}
		}, []string{
			"alerting.sinks[1].secret_env: environment variable UNSET_SECRET is unset or empty",
			"alerting.sinks[3].secret_file: /run/secrets/missing: file does not exist",
			"alerting.sinks[4].secret_file: /run/secrets/empty is empty",
			"alerting.sinks[5].secret_file: the Slack incoming-webhook URL it holds is not an http(s) URL",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.edit(c)
			env := fakeEnv(files, vars)
			env.ParseBaselineIndex = parseIndex
			env.LoadStateFile = func(string) error { return nil }
			errs := c.Check(env)
			checkErrs(t, errs, tc.want)
			for _, e := range errs {
				for _, secret := range []string{"s3cr3t", "not-a-url-but-secret"} {
					if strings.Contains(e.Error(), secret) {
						t.Errorf("secret echoed: %v", e)
					}
				}
			}
		})
	}
}

func TestCheckStateFileLoader(t *testing.T) {
	files := fstest.MapFS{"b/x": {Data: nil}, "s.json": {Data: []byte("garbage")}}
	c := Default()
	c.Baselines = Baselines{{Dir: &DirBaseline{Path: "/b"}}}
	c.State.File = "/s.json"
	env := fakeEnv(files, nil)
	env.LoadStateFile = func(p string) error { return errors.New("state file " + p + ": invalid character 'g'") }
	checkErrs(t, c.Check(env), []string{"state.file: state file /s.json: invalid character 'g'"})
}

// TestLoadCheckedRealFiles runs Load+Check against the real file system and
// environment, the way `driftd validate` and daemon start do.
func TestLoadCheckedRealFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := os.Mkdir(filepath.Join(dir, "baselines"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DRIFTD_TEST_HOOK_SECRET", "")
	f := write("driftd.yaml", `
baselines:
  - dir: {path: baselines}
  - dir: {path: missing}
http: {listen: "127.0.0.1:0"}
alerting:
  sinks:
    - {name: hook, type: webhook, url: "https://hooks.example.com/x", secret_env: DRIFTD_TEST_HOOK_SECRET}
`)
	_, err := LoadChecked(f, OSEnv())
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.File != f {
		t.Fatalf("err = %v", err)
	}
	checkErrs(t, ve.Errors, []string{
		"baselines[1].dir.path: " + filepath.Join(dir, "missing") + ": no such file or directory",
		"alerting.sinks[0].secret_env: environment variable DRIFTD_TEST_HOOK_SECRET is unset or empty",
	})
	t.Setenv("DRIFTD_TEST_HOOK_SECRET", "x")
	if err := os.Mkdir(filepath.Join(dir, "missing"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadChecked(f, OSEnv()); err != nil {
		t.Fatal(err)
	}
}
