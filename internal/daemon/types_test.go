package daemon

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
)

// TestUnknownInventoryTypesNotCollected: in an account where no instance
// ever reported the configured custom types, and with a misspelt AWS type
// configured, every instance is still judged from AWS:Application; each
// unknown type costs one call per scan, is logged once per scan, shown in
// the scan result and in driftd_inventory_type_unavailable; a type that
// becomes defined is collected again.
func TestUnknownInventoryTypesNotCollected(t *testing.T) {
	sim, url := startSim(t, awssim.Options{})
	ami, err := sim.AddAMI(awssim.AMISpec{Name: "plain", Packages: basePackages}) // no files, no units
	must(t, err)
	_, err = sim.AddLaunchTemplate("lt", "m7i.large", ami)
	must(t, err)
	ids, err := sim.AddGroup(awssim.GroupSpec{Name: "app", LaunchTemplateName: "lt", Max: 12, Desired: 12}, time.Hour)
	must(t, err)
	dir := t.TempDir()
	m, err := sim.Manifest(ami)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, ami+".json"), m, 0o644))
	must(t, sim.Inject(ids[3], awssim.Drift{Action: awssim.DriftRemove, Package: &awssim.PackageSpec{Name: "curl"}}))

	c := config.Default()
	c.Baselines = config.Baselines{{Name: "local", Dir: &config.DirBaseline{Path: dir}}}
	c.Inventory.RateLimits = map[string]float64{"ssm": 1e4, "ec2": 1e4, "autoscaling": 1e4}
	c.Inventory.Concurrency = 8
	c.Inventory.Types = append(c.Inventory.Types, "AWS:Aplication")
	core, logs := observer.New(zapcore.InfoLevel)
	a, err := New(context.Background(), Options{Config: c, AWS: simAWS(url), Logger: zap.New(core), Registry: prometheus.NewRegistry()})
	must(t, err)
	gauge := func(typ string) float64 {
		return metricValue(a.Metrics().InventoryTypeUnavailable.WithLabelValues(typ))
	}
	for _, typ := range c.Inventory.Types {
		if gauge(typ) != 0 {
			t.Fatalf("%s not pre-initialised at 0", typ)
		}
	}

	res, err := a.Scan(context.Background(), nil)
	must(t, err)
	if res.Summary[drift.VerdictInSync] != 11 || res.Summary[drift.VerdictDrifted] != 1 {
		t.Fatalf("summary %v", res.Summary)
	}
	var got []string
	for _, n := range res.InventoryTypesUnavailable {
		got = append(got, n.Type)
	}
	if strings.Join(got, ",") != "AWS:Aplication,Custom:FileDigest,Custom:SystemdUnit" {
		t.Fatalf("unavailable %v", got)
	}
	if r := res.InventoryTypesUnavailable[0].Reason; !strings.Contains(r, "configuration problem, check inventory.types") {
		t.Errorf("AWS type reason %q", r)
	}
	if n := res.APICalls.Errors["ssm:ListInventoryEntries:InvalidTypeNameException"]; n != 3 {
		t.Errorf("%d InvalidTypeNameException answers, want one per unknown type (3)", n)
	}
	if n := res.APICalls.ByOperation["ssm:ListInventoryEntries"]; n != 12+3 {
		t.Errorf("%d ListInventoryEntries calls, want 12 (AWS:Application) + 3", n)
	}
	if n := logs.FilterMessage("inventory type not collected").Len(); n != 3 {
		t.Errorf("%d log lines, want 3", n)
	}
	for typ, want := range map[string]float64{"AWS:Application": 0, "AWS:Aplication": 1, "Custom:FileDigest": 1, "Custom:SystemdUnit": 1} {
		if g := gauge(typ); g != want {
			t.Errorf("driftd_inventory_type_unavailable{type=%q} = %v, want %v", typ, g, want)
		}
	}

	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	body := get(t, srv, "/api/v1/scan", 200)
	if !strings.Contains(string(body), `"inventory_types_unavailable"`) || !strings.Contains(string(body), "Custom:SystemdUnit is not defined in this account") {
		t.Errorf("/api/v1/scan lacks the unavailable types: %s", body)
	}

	// One instance reports Custom:SystemdUnit: the account knows it now.
	must(t, sim.SetInventory(ids[5], drift.TypeSystemdUnit, []awssim.Entry{{"Name": "sshd.service", "ActiveState": "active", "UnitFileState": "enabled"}}))
	res, err = a.Scan(context.Background(), nil)
	must(t, err)
	got = got[:0]
	for _, n := range res.InventoryTypesUnavailable {
		got = append(got, n.Type)
	}
	if strings.Join(got, ",") != "AWS:Aplication,Custom:FileDigest" || gauge("Custom:SystemdUnit") != 0 || gauge("Custom:FileDigest") != 1 {
		t.Errorf("after defining Custom:SystemdUnit: unavailable %v, gauge %v", got, gauge("Custom:SystemdUnit"))
	}
	if res.Summary[drift.VerdictInSync] != 11 || res.Summary[drift.VerdictDrifted] != 1 {
		t.Errorf("summary %v", res.Summary)
	}
	if n := logs.FilterMessage("inventory type not collected").Len(); n != 5 {
		t.Errorf("%d log lines after two scans, want 5", n)
	}

	// Reload without the misspelt type: its series goes away.
	c2 := *c
	c2.Inventory.Types = c.Inventory.Types[:len(c.Inventory.Types)-1]
	a.opts.Config = &c2
	must(t, a.Reload(context.Background()))
	mfs, err := a.reg.Gather()
	must(t, err)
	for _, mf := range mfs {
		if mf.GetName() == "driftd_inventory_type_unavailable" && len(mf.GetMetric()) != len(c2.Inventory.Types) {
			t.Errorf("%d series after reload, want %d", len(mf.GetMetric()), len(c2.Inventory.Types))
		}
	}
}
