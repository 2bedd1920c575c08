package daemon

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
)

// TestDemoSBOMBaselinesAgainstAgentInventory runs the daemon's scan path
// against the simulated demo region with the baselines its AMIs publish
// (Parameter Store → s3:// → CycloneDX SBOMs for Debian and Ubuntu, native
// manifests for Amazon Linux), reading inventory through both
// ListInventoryEntries and Resource Data Sync. The agent reports Debian's
// amd64 packages as x86_64 and passes arm64 through; the SBOMs say amd64
// and arm64. Undrifted instances of the Debian, Ubuntu arm64, AL2023 arm64
// and Amazon Linux 2 AMIs are in sync, and the injected package drifts are
// reported in dpkg's architecture names. The Windows group's native
// baseline judges its applications, KBs and services through both sources
// alike.
func TestDemoSBOMBaselinesAgainstAgentInventory(t *testing.T) {
	// agents re-collect inventory every 30 minutes (the standalone
	// instances launched days ago are not stale)
	sim, url := startSim(t, awssim.Options{InventoryInterval: 30 * time.Minute})
	must(t, sim.LoadScenario(awssim.DemoScenario()))
	ds := sim.EnableResourceDataSync(syncBucket, "inv")
	t.Cleanup(ds.Close)
	c := config.Default()
	c.Selection.IncludeStandalone = true
	c.Baselines = config.Baselines{{Name: "golden", SSMParameter: &config.SSMParameterBaseline{Name: "/driftd/baselines/{ami_id}"}}}
	c.Inventory.RateLimits = map[string]float64{"ssm": 1e4, "ec2": 1e4, "autoscaling": 1e4}

	byName := map[string]string{}
	for _, in := range sim.Instances() {
		if n := in.Tags["Name"]; n != "" {
			byName[n] = in.ID
		}
	}
	api, edge, ingest, iis := sim.GroupMembers("api"), sim.GroupMembers("edge"), sim.GroupMembers("ingest"), sim.GroupMembers("iis")
	inSync := map[string]string{
		"debian amd64 (SBOM)": api[0], "debian amd64 bastion (SBOM)": byName["bastion"],
		"ubuntu arm64 (SBOM)": edge[0], "al2023 arm64": ingest[0], "al2 x86_64": byName["reporting"],
		"windows": iis[0],
	}
	type finding struct{ name, arch string }
	drifted := map[string][]finding{
		"debian upgrade": {{"libssl3", "amd64"}}, "debian removal": {{"curl", "amd64"}}, "ubuntu arm64 install": {{"nginx-extras", "arm64"}},
		"windows KB added": {{"KB5035857", ""}}, "windows application upgraded": {{"Contoso Line-of-Business Agent", "x86_64"}},
		"windows service disabled": {{"W3SVC", ""}, {"W3SVC", ""}},
	}
	driftedID := map[string]string{"debian upgrade": api[2], "debian removal": api[3], "ubuntu arm64 install": edge[2],
		"windows KB added": iis[1], "windows application upgraded": iis[2], "windows service disabled": iis[3]}

	var reports []map[string]verdictView
	for _, cfg := range []*config.Config{c, s3Config(c)} {
		res, err := newTestApp(t, url, cfg).Scan(context.Background(), nil)
		must(t, err)
		v := views(res)
		if len(v) != 42 {
			t.Fatalf("%s: %d instances", cfg.Inventory.InventorySource.Source, len(v))
		}
		for what, id := range inSync {
			if r := v[id]; r.Verdict != drift.VerdictInSync {
				t.Errorf("%s: %s (%s): %s with %d findings, first %+v", cfg.Inventory.InventorySource.Source, what, id, r.Verdict, len(r.Findings), first(r.Findings))
			}
		}
		for what, want := range drifted {
			r := v[driftedID[what]]
			var got []finding
			for _, f := range r.Findings {
				got = append(got, finding{f.Name, f.Arch})
			}
			if r.Verdict != drift.VerdictDrifted || !reflect.DeepEqual(got, want) {
				if len(got) > 4 {
					got = got[:4]
				}
				t.Errorf("%s: %s: %s with %d findings %v..., want drifted %v", cfg.Inventory.InventorySource.Source, what, r.Verdict, len(r.Findings), got, want)
			}
		}
		// 42 instances: 10 drifted, web[5] stale, api[7] agent offline,
		// legacy-batch without a baseline; the 29 others in sync
		if res.Summary[drift.VerdictInSync] != 29 || res.Summary[drift.VerdictDrifted] != 10 {
			t.Errorf("only %d instances in sync: %v", res.Summary[drift.VerdictInSync], res.Summary)
		}
		reports = append(reports, v)
	}
	// Both inventory sources give the same verdicts.
	for id, v := range reports[0] {
		if !reflect.DeepEqual(v, reports[1][id]) {
			t.Errorf("%s: ssm api %+v, data sync %+v", id, v, reports[1][id])
		}
	}
}

func first(fs []drift.Finding) *drift.Finding {
	if len(fs) == 0 {
		return nil
	}
	return &fs[0]
}
