package daemon

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestScanOfNoInstancesWarns: a full scan that selects no instance (a
// selection matching nothing, another region) says so and names what to
// check; a scan that finds instances does not.
func TestScanOfNoInstancesWarns(t *testing.T) {
	for _, tt := range []struct {
		name  string
		tags  map[string][]string
		asgs  []string
		warn  bool
		names []string
	}{
		{name: "instances found", warn: false},
		{name: "tags match nothing", tags: map[string][]string{"env": {"prod"}}, warn: true,
			names: []string{`region "us-east-1"`, "selection.tags (env)", "selection.include_standalone: false", "AWS_ENDPOINT_URL"}},
		{name: "groups match nothing", asgs: []string{"nosuch-*"}, warn: true,
			names: []string{"selection.asg_names (nosuch-*)"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			c := f.config()
			c.Selection.Tags, c.Selection.ASGNames = tt.tags, tt.asgs
			core, logs := observer.New(zapcore.WarnLevel)
			a, err := New(context.Background(), Options{Config: c, AWS: simAWS(f.url), Logger: zap.New(core), Registry: prometheus.NewRegistry()})
			must(t, err)
			res, err := a.Scan(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			var warned []string
			for _, e := range logs.All() {
				if strings.Contains(e.Message, "0 running instances") {
					warned = append(warned, e.Message)
				}
			}
			if got := len(warned) > 0; got != tt.warn {
				t.Fatalf("%d instances scanned, warning %v, want %v", len(res.Instances), warned, tt.warn)
			}
			for _, n := range tt.names {
				if !strings.Contains(warned[0], n) {
					t.Errorf("warning %q does not name %q", warned[0], n)
				}
			}
		})
	}
}
