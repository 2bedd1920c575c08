package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/scan"
)

// fixture is a simulated region with two groups on two AMIs.
type fixture struct {
	sim        *awssim.Sim
	url        string
	amiA, amiB string
	web, api   []string
	dir        string
}

var basePackages = []awssim.PackageSpec{
	{Name: "bash", Version: "5.2.15", Release: "1.amzn2023.0.2"},
	{Name: "curl", Version: "8.5.0", Release: "1.amzn2023.0.4"},
	{Name: "openssl-libs", Epoch: "1", Version: "3.0.8", Release: "1.amzn2023.0.12"},
	{Name: "systemd", Version: "252.16", Release: "1.amzn2023.0.2"},
	{Name: "glibc", Version: "2.34", Release: "52.amzn2023.0.8"},
}

func startSim(t testing.TB, opts awssim.Options) (*awssim.Sim, string) {
	t.Helper()
	if opts.LaunchDelay == 0 {
		opts.LaunchDelay = -1
	}
	if opts.InventoryDelay == 0 {
		opts.InventoryDelay = -1
	}
	if opts.InventoryInterval == 0 {
		opts.InventoryInterval = -1
	}
	sim := awssim.New(opts)
	srv, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return sim, "http://" + srv.Addr()
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	sim, url := startSim(t, awssim.Options{})
	f := &fixture{sim: sim, url: url, dir: t.TempDir()}
	var err error
	f.amiA, err = sim.AddAMI(awssim.AMISpec{Name: "web-base-2026-05", Packages: basePackages,
		Files:    []awssim.FileSpec{{Path: "/etc/ssh/sshd_config", SHA256: strings.Repeat("a", 64), Size: 3200}},
		Services: []awssim.ServiceSpec{{Name: "sshd.service"}, {Name: "nginx.service"}}})
	must(t, err)
	f.amiB, err = sim.AddAMI(awssim.AMISpec{Name: "api-base-2026-05", Packages: append(basePackages, awssim.PackageSpec{Name: "java-17-amazon-corretto", Version: "17.0.11+9", Release: "1.amzn2023"}),
		Files:    []awssim.FileSpec{{Path: "/etc/app/app.conf", SHA256: strings.Repeat("b", 64), Size: 100}},
		Services: []awssim.ServiceSpec{{Name: "sshd.service"}, {Name: "app.service"}}})
	must(t, err)
	_, err = sim.AddLaunchTemplate("web-lt", "m6i.large", f.amiA)
	must(t, err)
	_, err = sim.AddLaunchTemplate("api-lt", "m6i.large", f.amiB)
	must(t, err)
	f.web, err = sim.AddGroup(awssim.GroupSpec{Name: "web", LaunchTemplateName: "web-lt", Min: 0, Max: 10, Desired: 4}, time.Hour)
	must(t, err)
	f.api, err = sim.AddGroup(awssim.GroupSpec{Name: "api", LaunchTemplateName: "api-lt", Min: 0, Max: 10, Desired: 3}, time.Hour)
	must(t, err)
	f.writeManifest(t, f.amiA)
	f.writeManifest(t, f.amiB)
	return f
}

func (f *fixture) writeManifest(t testing.TB, ami string) {
	t.Helper()
	b, err := f.sim.Manifest(ami)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(f.dir, ami+".json"), b, 0o644))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) config() *config.Config {
	c := config.Default()
	c.Baselines = config.Baselines{{Name: "local", Dir: &config.DirBaseline{Path: f.dir}}}
	c.Inventory.RateLimits = map[string]float64{"ssm": 2000, "ec2": 2000, "autoscaling": 2000}
	c.Schedule.Timeout = 30 * time.Second
	c.AWS.MaxBackoff = 20 * time.Millisecond
	c.HTTP.Listen = "127.0.0.1:0" // Run without a listener binds a free port, never the default one
	return c
}

func simAWS(url string) *aws.Config {
	return &aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(url),
	}
}

func (f *fixture) app(t testing.TB, c *config.Config) *Daemon {
	t.Helper()
	a, err := New(context.Background(), Options{Config: c, AWS: simAWS(f.url), Logger: zap.NewNop(), Registry: prometheus.NewRegistry()})
	must(t, err)
	return a
}

func byID(res *scan.Result) map[string]*drift.Report {
	m := map[string]*drift.Report{}
	for _, ir := range res.Instances {
		m[ir.Report.InstanceID] = ir.Report
	}
	return m
}

func findingKeys(r *drift.Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, fmt.Sprintf("%s %s %s %s->%s", f.Category, f.Name, f.Change, f.Expected, f.Observed))
	}
	sort.Strings(out)
	return out
}

func TestScanFindsKnownDrift(t *testing.T) {
	f := newFixture(t)
	inject := []struct {
		id string
		d  awssim.Drift
	}{
		{f.web[0], awssim.Drift{Action: awssim.DriftUpgrade, Package: &awssim.PackageSpec{Name: "openssl-libs", Epoch: "1", Version: "3.0.8", Release: "1.amzn2023.0.13"}}},
		{f.web[1], awssim.Drift{Action: awssim.DriftRemove, Package: &awssim.PackageSpec{Name: "curl"}}},
		{f.web[2], awssim.Drift{Action: awssim.DriftInstall, Package: &awssim.PackageSpec{Name: "nmap", Version: "7.93", Release: "1.amzn2023"}}},
		{f.api[0], awssim.Drift{Action: awssim.DriftFile, File: &awssim.FileSpec{Path: "/etc/app/app.conf", SHA256: strings.Repeat("c", 64), Size: 100}}},
		{f.api[1], awssim.Drift{Action: awssim.DriftStopService, Service: &awssim.ServiceSpec{Name: "app.service"}}},
		{f.api[2], awssim.Drift{Action: awssim.DriftAgentOff}},
	}
	for _, in := range inject {
		must(t, f.sim.Inject(in.id, in.d))
	}
	a := f.app(t, f.config())
	res, err := a.Scan(context.Background(), nil)
	must(t, err)
	got := byID(res)
	if len(got) != 7 {
		t.Fatalf("%d instances scanned, want 7", len(got))
	}
	want := map[string]struct {
		v        drift.Verdict
		findings []string
	}{
		f.web[0]: {drift.VerdictDrifted, []string{"package openssl-libs changed 1:3.0.8-1.amzn2023.0.12->1:3.0.8-1.amzn2023.0.13"}},
		f.web[1]: {drift.VerdictDrifted, []string{"package curl removed 8.5.0-1.amzn2023.0.4->"}},
		f.web[2]: {drift.VerdictDrifted, []string{"package nmap added ->7.93-1.amzn2023"}},
		f.web[3]: {drift.VerdictInSync, nil},
		f.api[0]: {drift.VerdictDrifted, []string{"file /etc/app/app.conf changed " + strings.Repeat("b", 64) + "->" + strings.Repeat("c", 64)}},
		f.api[1]: {drift.VerdictDrifted, []string{"service app.service changed active->inactive"}},
		f.api[2]: {drift.VerdictUnknown, nil},
	}
	for id, w := range want {
		r := got[id]
		if r == nil {
			t.Errorf("%s: not scanned", id)
			continue
		}
		if r.Verdict != w.v {
			t.Errorf("%s: verdict %s (%v), want %s", id, r.Verdict, r.Reasons, w.v)
		}
		if g := findingKeys(r); strings.Join(g, "|") != strings.Join(w.findings, "|") {
			t.Errorf("%s: findings\n  %s\nwant\n  %s", id, strings.Join(g, "\n  "), strings.Join(w.findings, "\n  "))
		}
	}
	if r := got[f.api[2]]; r != nil && (len(r.Reasons) != 1 || !strings.HasPrefix(r.Reasons[0], "agent ConnectionLost since ")) {
		t.Errorf("offline agent reason = %v", r.Reasons)
	}
	if res.Summary[drift.VerdictDrifted] != 5 || res.Summary[drift.VerdictInSync] != 1 || res.Summary[drift.VerdictUnknown] != 1 {
		t.Errorf("summary %v", res.Summary)
	}
	for _, ir := range res.Instances {
		if ir.Report.ASG == "" || ir.Report.AMI == "" {
			t.Errorf("%s: asg %q ami %q", ir.Report.InstanceID, ir.Report.ASG, ir.Report.AMI)
		}
	}
}

// metricValue reads a counter's or gauge's current value.
func metricValue(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	return d.GetCounter().GetValue() + d.GetGauge().GetValue()
}
