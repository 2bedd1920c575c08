package buildinfo

import (
	"encoding/json"
	"reflect"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestResolve(t *testing.T) {
	vcs := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/driftd/driftd", Version: "(devel)"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "1111111111111111111111111111111111111111"},
			{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	installed := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/driftd/driftd", Version: "v1.4.0"}}
	full := stamp{"v1.2.3", "2222222222222222222222222222222222222222", "main", "2026-05-06T07:08:09Z", "false"}
	cases := []struct {
		name string
		s    stamp
		bi   *debug.BuildInfo
		want Info
	}{
		{"nothing known", stamp{}, nil, Info{Version: "dev"}},
		{"devel build without VCS", stamp{}, &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			Info{Version: "dev", GoVersion: "go1.26.8"}},
		{"go install module@version", stamp{}, installed, Info{Version: "v1.4.0", GoVersion: "go1.26.8"}},
		{"VCS settings fill in", stamp{}, vcs,
			Info{Version: "dev", Revision: "1111111111111111111111111111111111111111", BuildDate: "2026-01-02T03:04:05Z", Modified: true, GoVersion: "go1.26.8"}},
		{"stamp wins over VCS settings", full, vcs,
			Info{Version: "v1.2.3", Revision: "2222222222222222222222222222222222222222", Branch: "main", BuildDate: "2026-05-06T07:08:09Z", Modified: false, GoVersion: "go1.26.8"}},
		{"stamp wins over module version", stamp{version: "v9.0.0"}, installed, Info{Version: "v9.0.0", GoVersion: "go1.26.8"}},
		{"stamped modified without VCS", stamp{version: "v1.0.0", modified: "true"}, nil, Info{Version: "v1.0.0", Modified: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := resolve(c.s, c.bi)
			want := c.want
			want.GOOS, want.GOARCH = runtime.GOOS, runtime.GOARCH
			if want.GoVersion == "" {
				want.GoVersion = runtime.Version()
			}
			if got != want {
				t.Errorf("resolve:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestString(t *testing.T) {
	i := Info{Version: "v1.2.3", Revision: "abc", Branch: "main", BuildDate: "2026-01-02T03:04:05Z", Modified: true,
		GoVersion: "go1.26.8", GOOS: "linux", GOARCH: "arm64"}
	if got, want := i.String(), "driftd v1.2.3 (revision abc+modified, branch main, built 2026-01-02T03:04:05Z, go1.26.8, linux/arm64)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	bare := Info{Version: "dev", GoVersion: "go1.26.8", GOOS: "linux", GOARCH: "amd64"}
	if got, want := bare.String(), "driftd dev (go1.26.8, linux/amd64)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestLabels(t *testing.T) {
	i := Info{Version: "v1.2.3", Revision: "abc", Branch: "main", GoVersion: "go1.26.8", GOOS: "linux", GOARCH: "arm64"}
	want := map[string]string{"version": "v1.2.3", "revision": "abc", "branch": "main", "goos": "linux", "goarch": "arm64", "goversion": "go1.26.8"}
	if got := i.Labels(); !reflect.DeepEqual(got, want) {
		t.Errorf("Labels() = %v, want %v", got, want)
	}
	names := LabelNames()
	if len(names) != len(want) {
		t.Fatalf("LabelNames() = %v, want the keys of %v", names, want)
	}
	for _, n := range names {
		if _, ok := want[n]; !ok {
			t.Errorf("LabelNames() has %q, which Labels() lacks", n)
		}
	}
	if got := Labels(); got["version"] != Get().Version || got["goos"] != runtime.GOOS {
		t.Errorf("Labels() of this binary = %v", got)
	}
}

func TestJSONKeys(t *testing.T) {
	b, err := json.Marshal(Info{Version: "v1", GoVersion: "go1.26.8", GOOS: "linux", GOARCH: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"version":"v1","modified":false,"go_version":"go1.26.8","goos":"linux","goarch":"amd64"}`; got != want {
		t.Errorf("JSON %s, want %s", got, want)
	}
}
