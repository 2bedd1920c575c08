package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunUsage: bad invocations exit 2 (usage) or 1 (build refused) with
// a message saying what is wrong; nothing is built.
func TestRunUsage(t *testing.T) {
	notGit := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"neither version nor snapshot", nil, 2, "usage: release (-version vX.Y.Z | -snapshot)"},
		{"both version and snapshot", []string{"-version", "v1.0.0", "-snapshot"}, 2, "usage: release"},
		{"stray argument", []string{"-snapshot", "extra"}, 2, "usage: release"},
		{"unknown flag", []string{"-snapshot", "-nosuch"}, 2, "flag provided but not defined: -nosuch"},
		{"unknown target", []string{"-snapshot", "-targets", "linux/amd64,windows/amd64"}, 2, `"windows/amd64" is not one of [linux/amd64 linux/arm64]`},
		{"not a checkout", []string{"-snapshot", "-C", notGit, "-out", filepath.Join(t.TempDir(), "d")}, 1, "is not a git checkout with a commit"},
		{"clean refuses the root", []string{"-snapshot", "-clean", "-out", "/"}, 1, "-clean: refusing to remove /"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("run(%q) = %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
		})
	}
}

// TestRunClean: -clean empties the output directory before building, so a
// stale artifact cannot end up beside new ones.
func TestRunClean(t *testing.T) {
	out := filepath.Join(t.TempDir(), "dist")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(out, "driftd_old.tar.gz")
	if err := os.WriteFile(stale, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	// The build itself fails (not a checkout); the directory was cleaned first.
	if code := run(context.Background(), []string{"-snapshot", "-clean", "-C", t.TempDir(), "-out", out}, &stdout, &stderr); code != 1 {
		t.Fatalf("code %d, stderr %s", code, stderr.String())
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale artifact still there after -clean (err %v)", err)
	}
}
