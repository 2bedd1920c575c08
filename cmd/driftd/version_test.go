package main

import (
	"encoding/json"
	"io"
	"os"
	"testing"

	"github.com/driftd/driftd/internal/buildinfo"
)

// stdout runs f with os.Stdout redirected and returns what it wrote.
func stdout(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); done <- b }()
	defer func() { os.Stdout = old }()
	f()
	w.Close()
	return string(<-done)
}

func TestVersionFlagAndCommand(t *testing.T) {
	want := buildinfo.Get().String() + "\n"
	for _, args := range [][]string{{"--version"}, {"version"}, {"--version", "scan"}, {"scan", "--version"}} {
		var code int
		out := stdout(t, func() { code = run(args) })
		if code != 0 || out != want {
			t.Errorf("driftd %v: exit %d, output %q; want 0, %q", args, code, out, want)
		}
	}
	var code int
	out := stdout(t, func() { code = run([]string{"version", "--json"}) })
	var got buildinfo.Info
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 || got != buildinfo.Get() {
		t.Errorf("driftd version --json: exit %d, %q (%v); want %+v", code, out, err, buildinfo.Get())
	}
}
