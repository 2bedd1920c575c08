package daemon

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/driftd/driftd/internal/buildinfo"
)

// TestBuildInfoMetric: driftd_build_info carries the build facts of the
// running binary as labels, with value 1.
func TestBuildInfoMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewMetrics(reg)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := buildinfo.Labels()
	for _, mf := range mfs {
		if mf.GetName() != "driftd_build_info" {
			continue
		}
		if len(mf.Metric) != 1 {
			t.Fatalf("driftd_build_info has %d series, want 1", len(mf.Metric))
		}
		m := mf.Metric[0]
		if m.GetGauge().GetValue() != 1 {
			t.Errorf("driftd_build_info = %v, want 1", m.GetGauge().GetValue())
		}
		got := map[string]string{}
		for _, lp := range m.Label {
			got[lp.GetName()] = lp.GetValue()
		}
		for _, n := range []string{"version", "revision", "branch", "goos", "goarch", "goversion"} {
			v, ok := got[n]
			if !ok {
				t.Errorf("driftd_build_info lacks label %q (labels %v)", n, got)
			} else if v != want[n] {
				t.Errorf("driftd_build_info{%s=%q}, want %q", n, v, want[n])
			}
		}
		if len(got) != 6 {
			t.Errorf("driftd_build_info labels %v, want exactly version, revision, branch, goos, goarch, goversion", got)
		}
		if got["version"] == "" || got["goos"] == "" || got["goarch"] == "" || got["goversion"] == "" {
			t.Errorf("driftd_build_info has an empty version or platform: %v", got)
		}
		return
	}
	t.Fatal("driftd_build_info not registered")
}
