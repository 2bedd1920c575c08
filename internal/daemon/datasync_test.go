package daemon

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/collectors/datasync"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/scan"
)

const syncBucket = "driftd-inventory"

// syncFleet is a generated fleet with Resource Data Sync enabled.
func syncFleet(t *testing.T, n, pkgs int) (*awssim.Sim, string, *awssim.DataSync, *config.Config) {
	t.Helper()
	sim, url := startSim(t, awssim.Options{})
	must(t, sim.LoadScenario(awssim.GenerateFleet(n, pkgs, 2, 7)))
	ds := sim.EnableResourceDataSync(syncBucket, "inv")
	t.Cleanup(ds.Close)
	dir := t.TempDir()
	for _, v := range sim.Instances() {
		p := filepath.Join(dir, v.ImageID+".json")
		if _, err := os.Stat(p); err == nil {
			continue
		}
		raw, err := sim.Manifest(v.ImageID)
		must(t, err)
		must(t, os.WriteFile(p, raw, 0o644))
	}
	c := config.Default()
	c.Baselines = config.Baselines{{Name: "local", Dir: &config.DirBaseline{Path: dir}}}
	c.Inventory.RateLimits = map[string]float64{"ssm": 1e4, "ec2": 1e4, "autoscaling": 1e4}
	return sim, url, ds, c
}

func s3Config(c *config.Config) *config.Config {
	cc := *c
	cc.Inventory.InventorySource = config.InventorySource{Source: config.SourceResourceDataSync,
		ResourceDataSync: &config.ResourceDataSync{Bucket: syncBucket, Prefix: "inv", AccountID: "123456789012"}}
	return &cc
}

func newTestApp(t *testing.T, url string, c *config.Config) *Daemon {
	t.Helper()
	a, err := New(context.Background(), Options{Config: c, AWS: simAWS(url), Logger: zap.NewNop(), Registry: prometheus.NewRegistry()})
	must(t, err)
	return a
}

type verdictView struct {
	Verdict  drift.Verdict
	Severity drift.Severity
	Findings []drift.Finding
}

func views(res *scan.Result) map[string]verdictView {
	out := map[string]verdictView{}
	for _, ir := range res.Instances {
		out[ir.Report.InstanceID] = verdictView{ir.Report.Verdict, ir.Report.Severity, ir.Report.Findings}
	}
	return out
}

// TestDataSyncVerdictsMatchSSMAPI: the same fleet judged through
// ListInventoryEntries and through Resource Data Sync objects gives the same
// report for every instance, cold and after drift, and costs no more than
// 1.02 x the lower bound.
func TestDataSyncVerdictsMatchSSMAPI(t *testing.T) {
	sim, url, _, c := syncFleet(t, 40, 120)
	ids := sim.GroupMembers("fleet-01")
	must(t, sim.Inject(ids[0], awssim.Drift{Action: awssim.DriftRemove, Package: &awssim.PackageSpec{Name: "drift-extra"}}))
	must(t, sim.Inject(ids[1], awssim.Drift{Action: awssim.DriftFile, File: &awssim.FileSpec{Path: "/etc/ssh/sshd_config", SHA256: strings.Repeat("c", 64), Size: 10}}))
	must(t, sim.Inject(ids[2], awssim.Drift{Action: awssim.DriftStopService, Service: &awssim.ServiceSpec{Name: "sshd.service"}}))
	must(t, sim.Inject(ids[3], awssim.Drift{Action: awssim.DriftStale, Age: 72 * time.Hour}))
	must(t, sim.Inject(ids[4], awssim.Drift{Action: awssim.DriftAgentOff}))
	api, s3 := newTestApp(t, url, c), newTestApp(t, url, s3Config(c))
	check := func(label string) (*scan.Result, *scan.Result) {
		t.Helper()
		ra, err := api.Scan(context.Background(), nil)
		must(t, err)
		rs, err := s3.Scan(context.Background(), nil)
		must(t, err)
		va, vs := views(ra), views(rs)
		if len(va) != 40 || len(vs) != 40 {
			t.Fatalf("%s: %d and %d instances", label, len(va), len(vs))
		}
		for id, v := range va {
			if !reflect.DeepEqual(v, vs[id]) {
				t.Fatalf("%s: %s: ssm api %+v, data sync %+v", label, id, v, vs[id])
			}
		}
		for _, r := range []*scan.Result{ra, rs} {
			if r.Cost == nil || r.Cost.Ratio > 1.02 || r.Cost.Ratio < 1 {
				t.Fatalf("%s: cost %+v", label, r.Cost)
			}
		}
		return ra, rs
	}
	ra, rs := check("cold")
	if ra.Summary[drift.VerdictDrifted] == 0 || ra.Summary[drift.VerdictStale] != 1 || ra.Summary[drift.VerdictUnknown] != 1 {
		t.Fatalf("fixture verdicts %v", ra.Summary)
	}
	if rs.Cost.LowerBound["s3:GetObject"] != 39*3 || rs.Cost.Calls["s3:GetObject"] != 39*3 || rs.Cost.Calls["ssm:ListInventoryEntries"] != 0 {
		t.Fatalf("cold data sync cost %+v", rs.Cost)
	}
	// A new inventory upload has a new CaptureTime (seconds): let the clock
	// move on from the cold scan's uploads.
	time.Sleep(1100 * time.Millisecond)
	must(t, sim.Inject(ids[1], awssim.Drift{Action: awssim.DriftHeal})) // content differs from the file drift it had
	must(t, sim.Inject(ids[6], awssim.Drift{Action: awssim.DriftInstall, Package: &awssim.PackageSpec{Name: "nmap", Version: "7.9", Release: "1"}}))
	_, rs = check("warm")
	// Only the two changed instances' objects are downloaded (39 judged:
	// the agent-offline instance is not read).
	if v := views(rs)[ids[1]]; v.Verdict != drift.VerdictInSync {
		t.Fatalf("healed instance is %s", v.Verdict)
	}
	if rs.Cost.Calls["s3:GetObject"] != 2*3 || rs.Cost.DataSync.Skipped != 37*3 {
		t.Fatalf("warm data sync cost %+v %+v", rs.Cost, rs.Cost.DataSync)
	}
	// Metrics: calls and lower bound per operation, from the last full scan.
	mfs, err := s3.Registry().Gather()
	must(t, err)
	vals := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			lbl := map[string]string{}
			for _, l := range m.GetLabel() {
				lbl[l.GetName()] = l.GetValue()
			}
			vals[mf.GetName()+"/"+lbl["service"]+":"+lbl["operation"]] = m.GetGauge().GetValue()
		}
	}
	if vals["driftd_scan_api_calls/s3:GetObject"] != 6 || vals["driftd_scan_api_calls_lower_bound/s3:GetObject"] != 6 ||
		vals["driftd_scan_api_calls_lower_bound/s3:ListObjectsV2"] != float64(len(c.Inventory.Types)) { // one listing per configured type
		t.Fatalf("cost gauges %v", vals)
	}
	b, err := json.Marshal(rs)
	must(t, err)
	if !strings.Contains(string(b), `"api_cost":{"mode":"resource_data_sync"`) || !strings.Contains(string(b), `"lower_bound"`) {
		t.Fatalf("scan JSON lacks the cost report: %.300s", b)
	}
}

func TestDataSyncMissingAndBrokenObjects(t *testing.T) {
	sim, url, ds, c := syncFleet(t, 6, 30)
	ids := sim.GroupMembers("fleet-00")
	// A stored object shadows the rendered one: cut in the middle.
	key := sim.DataSyncKey("inv", "AWS:Application", ids[0])
	full, ok := ds.Content(key)
	if !ok {
		t.Fatal("no object")
	}
	sim.S3().PutObject(syncBucket, key, full[:len(full)/3])
	a := newTestApp(t, url, s3Config(c))
	res, err := a.Scan(context.Background(), nil)
	must(t, err)
	r := byID(res)[ids[0]]
	if r.Verdict != drift.VerdictUnknown || !strings.Contains(strings.Join(r.Reasons, " "), key) {
		t.Fatalf("truncated object: %+v", r)
	}
	// Missing objects: another bucket prefix holds nothing.
	c2 := s3Config(c)
	c2.Inventory.ResourceDataSync = &config.ResourceDataSync{Bucket: syncBucket, Prefix: "elsewhere", AccountID: "123456789012"}
	res, err = newTestApp(t, url, c2).Scan(context.Background(), nil)
	must(t, err)
	for _, ir := range res.Instances {
		if ir.Report.Verdict != drift.VerdictUnknown || !strings.Contains(strings.Join(ir.Report.Reasons, " "), "no inventory in data sync") {
			t.Fatalf("missing object: %+v", ir.Report)
		}
	}
}

// TestEventDrivenRefresh measures the time from an injected drift to the
// changed verdict through S3 event notifications in SQS, with the periodic
// scan never running.
func TestEventDrivenRefresh(t *testing.T) {
	sim, url, ds, c := syncFleet(t, 20, 60)
	ds.SetInterval(20 * time.Millisecond)
	svc := sim
	svc.SQS().CreateQueue("inventory-events")
	must(t, svc.S3().SetBucketNotification(syncBucket, "inventory-events", "inv/"))
	cc := s3Config(c)
	cc.Inventory.Events = &config.InventoryEvents{QueueURL: url + "/123456789012/inventory-events", WaitSeconds: 1, MaxMessages: 10}
	a := newTestApp(t, url, cc)
	res, err := a.Scan(context.Background(), nil)
	must(t, err)
	ids := sim.GroupMembers("fleet-00")
	target := ids[5]
	if byID(res)[target].Verdict != drift.VerdictInSync {
		t.Fatalf("target starts %s", byID(res)[target].Verdict)
	}
	got := make(chan *scan.Result, 16)
	a.AddObserver(scan.ObserverFunc(func(_ context.Context, r *scan.Result) { got <- r }))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.RunEvents(ctx) }()
	defer func() { cancel(); <-done }()

	start := time.Now()
	must(t, sim.Inject(target, awssim.Drift{Action: awssim.DriftInstall, Package: &awssim.PackageSpec{Name: "nmap", Version: "7.9", Release: "1"}}))
	deadline := time.After(10 * time.Second)
	for {
		select {
		case r := <-got:
			if rep := byID(r)[target]; rep != nil && rep.Verdict == drift.VerdictDrifted {
				lat := time.Since(start)
				t.Logf("drift detected %v after injection (scan of %d instance(s), %d API calls)", lat, len(r.Instances), r.APICalls.Total)
				if lat > 3*time.Second {
					t.Fatalf("event-driven detection took %v", lat)
				}
				if len(r.Instances) != 1 || r.Cost == nil || r.Cost.Calls["s3:ListObjectsV2"] != 0 {
					t.Fatalf("refresh was not restricted to the instance: %d instances, cost %+v", len(r.Instances), r.Cost)
				}
				// The other instances' history survives the restricted scan.
				if a.State().Len() != 20 {
					t.Fatalf("state holds %d instances after a restricted scan", a.State().Len())
				}
				return
			}
		case <-deadline:
			t.Fatal("no drifted verdict within 10s of the injection")
		}
	}
}

func TestEventInstances(t *testing.T) {
	loc := datasync.Location{Bucket: "b", Prefix: "inv", AccountID: "123456789012", Region: "us-east-1"}
	key := "inv/AWS%3AApplication/accountid%3D123456789012/region%3Dus-east-1/resourcetype%3DManagedInstanceInventory/i-0123456789abcdef0.json"
	rec := func(bucket, event, key string) string {
		return `{"eventName":"` + event + `","s3":{"bucket":{"name":"` + bucket + `"},"object":{"key":"` + key + `"}}}`
	}
	for _, tc := range []struct {
		name, body string
		want       []string
		err        bool
	}{
		{"created", `{"Records":[` + rec("b", "ObjectCreated:Put", key) + `,` + rec("b", "ObjectCreated:Put", key) + `]}`, []string{"i-0123456789abcdef0"}, false},
		{"other bucket", `{"Records":[` + rec("x", "ObjectCreated:Put", key) + `]}`, []string{}, false},
		{"removed", `{"Records":[` + rec("b", "ObjectRemoved:Delete", key) + `]}`, []string{}, false},
		{"other layout", `{"Records":[` + rec("b", "ObjectCreated:Put", "inv/readme.txt") + `]}`, []string{}, false},
		{"test event", `{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}`, nil, false},
		{"not json", `hello`, nil, true},
		{"no records", `{}`, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EventInstances(tc.body, loc)
			if (err != nil) != tc.err || (!tc.err && !reflect.DeepEqual(got, tc.want)) {
				t.Fatalf("got %v, %v; want %v (error %v)", got, err, tc.want, tc.err)
			}
		})
	}
}
