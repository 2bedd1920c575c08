package collectors

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const manifestYAML = `schema_version: 1
ami_id: %s
package_format: rpm
packages:
  - {name: bash, arch: x86_64, version: "5.2.15", release: "1.amzn2023"}
`

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

type countingRecorder struct{ n map[string]int }

func (c *countingRecorder) BaselineError(s string) { c.n[s]++ }

func TestDirSource(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "ami-00000000000000001.yaml", strings.ReplaceAll(manifestYAML, "%s", "ami-00000000000000001"))
	write(t, dir, "ami-00000000000000002.json", `{"schema_version":1,"ami_id":"ami-99999999999999999","packages":[{"name":"a","version":"1"}]}`)
	// Native manifests must name their AMI; lists that carry none (Image
	// Builder, SBOMs) can be shared between AMIs by a name glob.
	write(t, dir, "shared.imagebuilder.json", `{"imagePackageList":[{"packageName":"bash","packageVersion":"5.2.15-1.amzn2023"}]}`)
	write(t, dir, "broken.yaml", "packages: [")
	write(t, dir, "index.yaml", `entries:
  - ami: ami-00000000000000003
    file: broken.yaml
  - name: "web-base-*"
    file: shared.imagebuilder.json
`)
	src, err := NewDirSource("local", dir, "index.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &countingRecorder{n: map[string]int{}}
	chain := &Chain{Sources: []BaselineSource{src}, Recorder: rec}
	tests := []struct {
		ami     AMIInfo
		wantErr string // substring; "" = resolves
		where   string
	}{
		{AMIInfo{ID: "ami-00000000000000001"}, "", "ami-00000000000000001.yaml"},
		{AMIInfo{ID: "ami-00000000000000002"}, "ami_id: document describes ami-99999999999999999, expected ami-00000000000000002", ""},
		{AMIInfo{ID: "ami-00000000000000003"}, "broken.yaml: ", ""},
		{AMIInfo{ID: "ami-00000000000000004", Name: "web-base-2026-05"}, "", "shared.imagebuilder.json"},
		{AMIInfo{ID: "ami-00000000000000007", Name: "web-base-2026-06"}, "", "shared.imagebuilder.json"},
		{AMIInfo{ID: "ami-00000000000000005", Name: "db-2026"}, `local: no manifest: no file for ami-00000000000000005 in ` + dir + ` and no index entry for it or its name "db-2026"`, ""},
		{AMIInfo{ID: "ami-00000000000000006"}, "(AMI name unknown)", ""},
	}
	for _, tt := range tests {
		m, res, err := chain.Resolve(context.Background(), tt.ami)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want containing %q", tt.ami.ID, err, tt.wantErr)
			}
			if len(res.Tried) != 1 || res.Tried[0].Source != "local" {
				t.Errorf("%s: tried = %+v", tt.ami.ID, res.Tried)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.ami.ID, err)
			continue
		}
		if filepath.Base(res.Where) != tt.where || res.Source != "local" || res.Version == "" || len(m.Packages) != 1 || m.Packages[0].EVR == "" || m.AMI != tt.ami.ID {
			t.Errorf("%s: res %+v manifest %+v", tt.ami.ID, res, m)
		}
	}
	// Missing manifests are not source errors; wrong AMI and broken files are.
	if rec.n["local"] != 2 {
		t.Errorf("baseline errors = %d, want 2", rec.n["local"])
	}

	// Cache: same manifest pointer until the file changes, then re-read.
	m1, r1, _ := src.Resolve(context.Background(), AMIInfo{ID: "ami-00000000000000001"})
	m2, _, _ := src.Resolve(context.Background(), AMIInfo{ID: "ami-00000000000000001"})
	if m1 != m2 {
		t.Error("manifest re-parsed although unchanged")
	}
	write(t, dir, "ami-00000000000000001.yaml", strings.ReplaceAll(manifestYAML, "%s", "ami-00000000000000001")+
		"  - {name: curl, arch: x86_64, version: \"8.5.0\", release: \"1.amzn2023\"}\n")
	future := time.Now().Add(time.Minute)
	os.Chtimes(filepath.Join(dir, "ami-00000000000000001.yaml"), future, future)
	m3, r3, err := src.Resolve(context.Background(), AMIInfo{ID: "ami-00000000000000001"})
	if err != nil || m3 == m1 || len(m3.Packages) != 2 || r3.Version == r1.Version {
		t.Errorf("changed file not re-read: err %v, packages %d, versions %s %s", err, len(m3.Packages), r1.Version, r3.Version)
	}
}

func TestChainOrderAndMissingDir(t *testing.T) {
	if _, err := NewDirSource("x", filepath.Join(t.TempDir(), "nope"), "", nil); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing dir: %v", err)
	}
	a, b := t.TempDir(), t.TempDir()
	write(t, b, "ami-00000000000000001.yaml", strings.ReplaceAll(manifestYAML, "%s", "ami-00000000000000001"))
	sa, _ := NewDirSource("first", a, "", nil)
	sb, _ := NewDirSource("second", b, "", nil)
	_, res, err := (&Chain{Sources: []BaselineSource{sa, sb}}).Resolve(context.Background(), AMIInfo{ID: "ami-00000000000000001"})
	if err != nil || res.Source != "second" || len(res.Tried) != 1 || res.Tried[0].Source != "first" || !res.Tried[0].Missing {
		t.Fatalf("res %+v err %v", res, err)
	}
}

func TestParseIndex(t *testing.T) {
	tests := []struct{ in, err string }{
		{"entries:\n  - {ami: ami-1, file: a.yaml}\n", ""},
		{"entries:\n  - {ami: ami-1}\n", "entries[0].file: required"},
		{"entries:\n  - {ami: ami-1, name: x, file: a}\n", "entries[0]: exactly one of ami or name is required"},
		{"entries:\n  - {name: '[x', file: a}\n", `entries[0].name: bad glob "[x"`},
		{"entries:\n  - {ami: ami-1, file: ../a}\n", `entries[0].file: "../a" must be relative and inside the directory`},
		{"entries:\n  - {ami: ami-1, file: a, extra: 1}\n", "field extra not found"},
	}
	for _, tt := range tests {
		_, err := ParseIndex([]byte(tt.in))
		if (tt.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%q: err = %v, want %q", tt.in, err, tt.err)
		}
	}
}

func FuzzParseIndex(f *testing.F) {
	f.Add([]byte("entries:\n  - {ami: ami-1, file: a.yaml}\n  - {name: 'web-*', file: b.json}\n"))
	f.Add([]byte("entries: []"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseIndex(data)
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.File == "" || (e.AMI == "") == (e.Name == "") {
				t.Fatalf("invalid entry accepted: %+v", e)
			}
		}
	})
}
