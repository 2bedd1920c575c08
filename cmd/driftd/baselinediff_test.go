package main

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/drift/manifest"
)

// TestBaselineDiffSymmetric: a name+version list (an Image Builder package
// list names no arch) matches a manifest with arches whichever side it is
// on, and `diff A B` is the mirror image of `diff B A`.
func TestBaselineDiffSymmetric(t *testing.T) {
	load := func(path string) *drift.Manifest {
		t.Helper()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m, err := manifest.Decode(path, data, manifest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	arch, list := load("testdata/baseline_a.yaml"), load("testdata/baseline_c.imagebuilder.json")
	key := func(f drift.Finding) string {
		return fmt.Sprintf("%s %s %s %s->%s %s", f.Change, f.Name, f.Attribute, f.Expected, f.Observed, f.Direction)
	}
	findings := func(a, b *drift.Manifest) []string {
		d, err := diffManifests(a, b, "a", "b")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range d.Findings {
			out = append(out, key(f))
		}
		sort.Strings(out)
		return out
	}
	// baseline_a has telnet, the list has nmap-ncat instead; python3 moves
	// from .0.6 to .0.7; bash, openssl-libs and tzdata are the same
	// packages (the list names no arch).
	want := []string{
		"added nmap-ncat version ->3:7.93-1.amzn2023.0.1 ",
		"changed python3 version 3.9.16-1.amzn2023.0.6->3.9.16-1.amzn2023.0.7 upgrade",
		"removed telnet version 0.17-85.amzn2023-> ",
	}
	if got := findings(arch, list); !slices.Equal(got, want) {
		t.Errorf("diff arch list:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var mirrored []string
	for _, f := range []drift.Finding{
		{Change: drift.ChangeRemoved, Name: "nmap-ncat", Attribute: "version", Expected: "3:7.93-1.amzn2023.0.1"},
		{Change: drift.ChangeChanged, Name: "python3", Attribute: "version", Expected: "3.9.16-1.amzn2023.0.7", Observed: "3.9.16-1.amzn2023.0.6", Direction: drift.DirectionDowngrade},
		{Change: drift.ChangeAdded, Name: "telnet", Attribute: "version", Observed: "0.17-85.amzn2023"},
	} {
		mirrored = append(mirrored, key(f))
	}
	sort.Strings(mirrored)
	if got := findings(list, arch); !slices.Equal(got, mirrored) {
		t.Errorf("diff list arch:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(mirrored, "\n"))
	}
	for _, m := range []*drift.Manifest{arch, list} {
		if got := findings(m, m); len(got) != 0 {
			t.Errorf("a manifest differs from itself: %v", got)
		}
	}
}
