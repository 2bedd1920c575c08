package daemon

import (
	"testing"

	"github.com/driftd/driftd/internal/config"
)

// TestListenAddressOverride: Options.ListenAddress (driftd run
// --web.listen-address) replaces http.listen of every configuration loaded,
// without changing the caller's configuration.
func TestListenAddressOverride(t *testing.T) {
	cfg, err := config.Parse([]byte("baselines: [{dir: {path: .}}]\nhttp: {listen: ':9464'}\n"))
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	loader := func() (*config.Config, error) { calls++; return cfg, nil }
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Config: cfg}, ":9464"},
		{Options{Config: cfg, ListenAddress: "127.0.0.1:0"}, "127.0.0.1:0"},
		{Options{ConfigLoader: loader, ListenAddress: "[::1]:9999"}, "[::1]:9999"},
	} {
		d := &Daemon{opts: tc.opts}
		got, err := d.loadConfig()
		if err != nil {
			t.Fatal(err)
		}
		if got.HTTP.Listen != tc.want {
			t.Errorf("ListenAddress %q: http.listen %q, want %q", tc.opts.ListenAddress, got.HTTP.Listen, tc.want)
		}
	}
	if cfg.HTTP.Listen != ":9464" || calls != 1 {
		t.Errorf("caller's config changed to %q (loader calls %d)", cfg.HTTP.Listen, calls)
	}
}
