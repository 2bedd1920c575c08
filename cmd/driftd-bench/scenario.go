package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/collectors/datasync"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/drift/manifest"
	"github.com/driftd/driftd/internal/apicost"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/daemon"
)

// scenario is one measured configuration.
type scenario struct {
	Name      string
	Mode      string // apicost.ModeSSMAPI or apicost.ModeResourceDataSync
	Instances int
	Packages  int
	// Warm scenarios scan twice: cold, then Interval × the inventory
	// interval later (the simulator's clock advanced, the nodes' inventory
	// runs reporting fresh CaptureTimes meanwhile), after 1% of the
	// instances installed a package.
	Warm     bool
	Interval float64 // scan interval ÷ inventory interval (warm scenarios)
	// Synced makes every node run inventory at the same moments (a fleet
	// launched together); otherwise each node has its own phase.
	Synced   bool
	Throttle float64 // simulated SSM token bucket (requests/s); 0 = none
}

const amis = 4

// inventoryInterval is the simulated nodes' inventory association schedule
// (AWS's shortest, and the common, rate).
const inventoryInterval = 30 * time.Minute

// benchStart is the simulated region's clock at the cold scan.
var benchStart = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

var scenarios = []scenario{
	{Name: "s3-1k-cold", Mode: apicost.ModeResourceDataSync, Instances: 1000, Packages: 1000},
	{Name: "s3-1k-warm-0.25x", Mode: apicost.ModeResourceDataSync, Instances: 1000, Packages: 1000, Warm: true, Interval: 0.25},
	{Name: "s3-1k-warm-1x", Mode: apicost.ModeResourceDataSync, Instances: 1000, Packages: 1000, Warm: true, Interval: 1},
	{Name: "s3-1k-warm-2x", Mode: apicost.ModeResourceDataSync, Instances: 1000, Packages: 1000, Warm: true, Interval: 2},
	{Name: "s3-5k-cold", Mode: apicost.ModeResourceDataSync, Instances: 5000, Packages: 1000},
	{Name: "s3-5k-warm-0.25x", Mode: apicost.ModeResourceDataSync, Instances: 5000, Packages: 1000, Warm: true, Interval: 0.25},
	{Name: "s3-10k-cold", Mode: apicost.ModeResourceDataSync, Instances: 10000, Packages: 1000},
	{Name: "s3-10k-warm-0.25x", Mode: apicost.ModeResourceDataSync, Instances: 10000, Packages: 1000, Warm: true, Interval: 0.25},
	{Name: "api-1k-cold", Mode: apicost.ModeSSMAPI, Instances: 1000, Packages: 1000},
	{Name: "api-1k-warm-0.25x-synced", Mode: apicost.ModeSSMAPI, Instances: 1000, Packages: 1000, Warm: true, Interval: 0.25, Synced: true},
	{Name: "api-1k-warm-0.25x", Mode: apicost.ModeSSMAPI, Instances: 1000, Packages: 1000, Warm: true, Interval: 0.25},
	{Name: "api-1k-warm-1x", Mode: apicost.ModeSSMAPI, Instances: 1000, Packages: 1000, Warm: true, Interval: 1},
	{Name: "api-1k-warm-2x", Mode: apicost.ModeSSMAPI, Instances: 1000, Packages: 1000, Warm: true, Interval: 2},
	{Name: "api-2k-cold", Mode: apicost.ModeSSMAPI, Instances: 2000, Packages: 1000},
	{Name: "api-2k-warm-0.25x", Mode: apicost.ModeSSMAPI, Instances: 2000, Packages: 1000, Warm: true, Interval: 0.25},
	{Name: "api-throttled-100-cold", Mode: apicost.ModeSSMAPI, Instances: 100, Packages: 1000, Throttle: 20},
	{Name: "api-throttled-200-warm-0.25x", Mode: apicost.ModeSSMAPI, Instances: 200, Packages: 1000, Warm: true, Interval: 0.25, Throttle: 20},
}

func findScenario(name string) (scenario, bool) {
	for _, s := range scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return scenario{}, false
}

func (s scenario) describe() string {
	d := fmt.Sprintf("%d instances x %d packages, %s, %s", s.Instances, s.Packages, modeName(s.Mode), s.kind())
	if s.Throttle > 0 {
		d += fmt.Sprintf(", SSM throttled at %g req/s", s.Throttle)
	}
	return d
}

// kind is "cold" or "warm 0.25×" (scan interval ÷ inventory interval).
func (s scenario) kind() string {
	if !s.Warm {
		return "cold"
	}
	k := fmt.Sprintf("warm %g×", s.Interval)
	if s.Synced {
		k += " synced"
	}
	return k
}

func modeName(m string) string {
	if m == apicost.ModeResourceDataSync {
		return "S3 sync"
	}
	return "SSM API"
}

// scaled returns the quick-mode version of s.
func (s scenario) scaled(quick bool) scenario {
	if !quick {
		return s
	}
	s.Packages = 100
	switch {
	case s.Throttle > 0 && s.Warm:
		s.Instances = 20
	case s.Throttle > 0:
		s.Instances = 10
	default:
		s.Instances = max(s.Instances/50, 8)
	}
	return s
}

// Result is one scenario's measurements.
type Result struct {
	Scenario   scenario       `json:"scenario"`
	Wall       time.Duration  `json:"wall_ns"`
	Calls      map[string]int `json:"calls"`
	CallsTotal int            `json:"calls_total"`
	// LowerBound is computed from the fleet model (what the simulator holds
	// and what the scenario changed), independently of the daemon.
	LowerBound      map[string]int `json:"lower_bound"`
	LowerBoundTotal int            `json:"lower_bound_total"`
	// DaemonLowerBound is the daemon's own figure from its scan facts.
	DaemonLowerBoundTotal int            `json:"daemon_lower_bound_total"`
	Verdicts              map[string]int `json:"verdicts"`
	Unknown               int            `json:"unknown"`
	Throttled             int            `json:"throttled"` // throttling errors (attempts)
	PeakRSS               int64          `json:"peak_rss_bytes"`
	// RSSBefore is the process RSS just before the measured scan (the
	// simulated region with its fleet, the daemon after a cold scan).
	RSSBefore int64 `json:"rss_before_bytes"`
	// ThrottleMinimum is calls to the throttled service / R.
	ThrottleMinimum time.Duration `json:"throttle_minimum_ns,omitempty"`
	// Floor is the download-and-decode floor of the same objects (S3 mode).
	Floor      time.Duration `json:"floor_ns,omitempty"`
	Bytes      int64         `json:"bytes,omitempty"`
	FloorBytes int64         `json:"floor_bytes,omitempty"`
	// ColdWall and ColdCalls are the preceding cold scan's (warm scenarios).
	ColdWall  time.Duration `json:"cold_wall_ns,omitempty"`
	ColdCalls int           `json:"cold_calls,omitempty"`
	// Moved is the number of instances with at least one type whose
	// CaptureTime moved between the two scans (warm scenarios), from the
	// simulator's model.
	Moved int `json:"moved,omitempty"`
	// RetainedPerInstance is live heap held by the daemon after the scan,
	// per instance (state, ETag memory, baselines).
	RetainedPerInstance float64 `json:"retained_bytes_per_instance"`
	// CompareCPU is the CPU time of drift.Compare for every instance of the
	// fleet (snapshots built beforehand).
	CompareCPU time.Duration `json:"compare_cpu_ns,omitempty"`
}

// fleet is a running simulated region with a generated fleet.
type fleet struct {
	sim     *awssim.Sim
	clock   *awssim.ManualClock
	srv     *awssim.Server
	url     string
	ds      *awssim.DataSync
	dir     string
	ids     []string
	entries map[string]int // AMI → AWS:Application entries
	images  map[string]string
}

func buildFleet(s scenario) (*fleet, error) {
	clk := awssim.NewManualClock(benchStart)
	sim := awssim.New(awssim.Options{Clock: clk, LaunchDelay: -1, InventoryDelay: -1,
		InventoryInterval: inventoryInterval, InventorySpread: !s.Synced, TerminateDelay: -1, CallLogLimit: 1})
	if err := sim.LoadScenario(awssim.GenerateFleet(s.Instances, s.Packages, amis, 1)); err != nil {
		return nil, err
	}
	srv, err := sim.Start("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &fleet{sim: sim, clock: clk, srv: srv, url: srv.URL, entries: map[string]int{}, images: map[string]string{}}
	f.dir, err = os.MkdirTemp("", "driftd-bench-")
	if err != nil {
		return nil, err
	}
	for _, v := range sim.Instances() {
		f.ids = append(f.ids, v.ID)
		f.images[v.ID] = v.ImageID
		if _, ok := f.entries[v.ImageID]; ok {
			continue
		}
		raw, err := sim.Manifest(v.ImageID)
		if err != nil {
			return nil, err
		}
		var m struct {
			Packages []json.RawMessage `json:"packages"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		f.entries[v.ImageID] = len(m.Packages)
		if err := os.WriteFile(filepath.Join(f.dir, v.ImageID+".json"), nativeManifest(raw), 0o644); err != nil {
			return nil, err
		}
	}
	sort.Strings(f.ids)
	if s.Mode == apicost.ModeResourceDataSync {
		f.ds = sim.EnableResourceDataSync("driftd-inventory", "inventory")
		f.ds.SetInterval(time.Hour) // no notifications are consumed here
	}
	return f, nil
}

func (f *fleet) close() {
	if f.ds != nil {
		f.ds.Close()
	}
	f.srv.Close()
	os.RemoveAll(f.dir)
}

// nativeManifest adapts the simulator's manifest (files[].size as a string)
// to driftd's native format.
func nativeManifest(b []byte) []byte {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return b
	}
	files, _ := m["files"].([]any)
	for _, x := range files {
		fm, _ := x.(map[string]any)
		if s, ok := fm["size"].(string); ok {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				fm["size"] = n
			}
		}
	}
	out, _ := json.Marshal(m)
	return out
}

var types = []string{drift.TypeApplication, drift.TypeFileDigest, drift.TypeSystemdUnit}

func daemonConfig(s scenario, f *fleet, throttled bool) *config.Config {
	c := config.Default()
	c.Baselines = config.Baselines{{Name: "local", Dir: &config.DirBaseline{Path: f.dir}}}
	c.Inventory.Types = append([]string(nil), types...)
	c.Inventory.Concurrency = 16
	c.Inventory.RateLimits = map[string]float64{"ssm": 1e4, "ec2": 1e4, "autoscaling": 1e4}
	if throttled {
		c.Inventory.RateLimits["ssm"] = s.Throttle // the client-side limiter matches the service's rate
		c.Inventory.Concurrency = 8
	}
	c.Schedule.Timeout = time.Hour
	c.Schedule.Cron = "@every 2h"
	if s.Mode == apicost.ModeResourceDataSync {
		c.Inventory.InventorySource = config.InventorySource{Source: config.SourceResourceDataSync,
			ResourceDataSync: &config.ResourceDataSync{Bucket: "driftd-inventory", Prefix: "inventory", AccountID: "123456789012"}}
	}
	return c
}

func simAWS(url string) *aws.Config {
	return &aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDBENCH", "secret", "")}
}

// changed returns the 1% of instances the warm scenarios modify (never the
// ones the generator drifted).
func (f *fleet) changed() []string {
	var out []string
	for i := 50; i < len(f.ids); i += 100 {
		out = append(out, f.ids[i])
	}
	if len(out) == 0 && len(f.ids) > 1 {
		out = append(out, f.ids[1])
	}
	return out
}

func runScenario(s scenario) (*Result, error) {
	f, err := buildFleet(s)
	if err != nil {
		return nil, err
	}
	defer f.close()
	cfgCur := daemonConfig(s, f, s.Throttle > 0 && !s.Warm)
	var cfgMu sync.Mutex
	a, err := daemon.New(context.Background(), daemon.Options{
		ConfigLoader: func() (*config.Config, error) { cfgMu.Lock(); defer cfgMu.Unlock(); return cfgCur, nil },
		AWS:          simAWS(f.url), Logger: zap.NewNop(), Registry: prometheus.NewRegistry(),
		Now: f.sim.Now, // staleness is judged on the simulated region's clock
	})
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	r := &Result{Scenario: s}
	var changed []string
	var moved map[string]map[string]bool // instance → type → CaptureTime moved since the cold scan
	if s.Warm {
		before := f.captures()
		start := time.Now()
		cold, err := a.Scan(ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("cold scan: %w", err)
		}
		r.ColdWall = time.Since(start)
		r.ColdCalls = cold.APICalls.Total
		cold = nil
		f.clock.Advance(time.Duration(s.Interval * float64(inventoryInterval)))
		changed = f.changed()
		for _, id := range changed {
			if err := f.sim.Inject(id, awssim.Drift{Action: awssim.DriftInstall, Package: &awssim.PackageSpec{Name: "bench-added", Version: "1.0", Release: "1"}}); err != nil {
				return nil, err
			}
		}
		if s.Throttle > 0 {
			cfgMu.Lock()
			cfgCur = daemonConfig(s, f, true)
			cfgMu.Unlock()
			if err := a.Reload(ctx); err != nil {
				return nil, err
			}
		}
		moved = map[string]map[string]bool{}
		for id, m := range f.captures() {
			for t, c := range m {
				if !c.Equal(before[id][t]) {
					if moved[id] == nil {
						moved[id] = map[string]bool{}
						r.Moved++
					}
					moved[id][t] = true
				}
			}
		}
		debug.FreeOSMemory() // the warm scan's peak, not the cold scan's leftovers
		resetPeakRSS()
	}
	if s.Throttle > 0 {
		// The simulated service's token bucket: R requests/s, burst R.
		if _, err := f.sim.AddFault(awssim.Fault{Service: "ssm", Rate: s.Throttle, Burst: int(s.Throttle)}); err != nil {
			return nil, err
		}
	}
	r.RSSBefore = currentRSS()
	stopProfile, err := startProfile()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	res, err := a.Scan(ctx, nil)
	if err != nil {
		return nil, err
	}
	r.Wall = time.Since(start)
	stopProfile()
	r.PeakRSS = peakRSS()
	r.Calls = res.APICalls.ByOperation
	r.CallsTotal = res.APICalls.Total
	for k, v := range res.APICalls.Errors {
		if strings.Contains(k, "Throttl") || strings.Contains(k, "RequestLimitExceeded") {
			r.Throttled += v
		}
	}
	if res.Cost != nil {
		r.DaemonLowerBoundTotal = res.Cost.LowerBoundTotal
		if res.Cost.DataSync != nil {
			r.Bytes = res.Cost.DataSync.Bytes
		}
	}
	r.Verdicts = map[string]int{}
	for v, n := range res.Summary {
		r.Verdicts[string(v)] = n
	}
	r.Unknown = res.Summary[drift.VerdictUnknown]
	if n := res.Summary[drift.VerdictInSync] + res.Summary[drift.VerdictDrifted]; n != s.Instances {
		return nil, fmt.Errorf("only %d of %d instances judged: %v", n, s.Instances, res.Summary)
	}
	r.LowerBound = f.lowerBound(s, moved)
	r.LowerBoundTotal = apicost.Total(r.LowerBound)
	if s.Throttle > 0 {
		ssmCalls := 0
		for op, n := range r.Calls {
			if strings.HasPrefix(op, "ssm:") {
				ssmCalls += n
			}
		}
		r.ThrottleMinimum = time.Duration(float64(ssmCalls) / s.Throttle * float64(time.Second))
	}
	if s.Mode == apicost.ModeResourceDataSync {
		var objs [][2]string // (instance, type) the scan had to download
		for _, id := range f.ids {
			for _, t := range types {
				if !s.Warm || moved[id][t] {
					objs = append(objs, [2]string{id, t})
				}
			}
		}
		r.Floor, r.FloorBytes, err = f.floor(objs, 16)
		if err != nil {
			return nil, fmt.Errorf("floor: %w", err)
		}
	}
	// Retained heap: live heap with the daemon minus without it.
	res = nil
	with := liveHeap()
	runtime.KeepAlive(a)
	a = nil
	without := liveHeap()
	if with > without {
		r.RetainedPerInstance = float64(with-without) / float64(s.Instances)
	}
	if !s.Warm {
		r.CompareCPU, err = f.compareCPU(s.Instances)
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

// captures returns every instance's CaptureTime per type, as the simulator
// models it (what ListInventoryEntries and the data sync objects report).
func (f *fleet) captures() map[string]map[string]time.Time {
	out := make(map[string]map[string]time.Time, len(f.ids))
	for _, id := range f.ids {
		m := make(map[string]time.Time, len(types))
		for _, t := range types {
			if c, ok := f.sim.CaptureTime(id, t); ok {
				m[t] = c
			}
		}
		out[id] = m
	}
	return out
}

// lowerBound computes the minimum calls from the fleet model. A cold scan
// reads everything; a warm one reads in full exactly the (instance, type)
// pairs whose CaptureTime moved since the cold scan (moved), changed content
// or not: nothing cheaper tells an unchanged type from a changed one (see
// docs/scale.md), so a type whose CaptureTime moved costs what it cost cold.
func (f *fleet) lowerBound(s scenario, moved map[string]map[string]bool) map[string]int {
	fc := apicost.Facts{Mode: s.Mode, Instances: s.Instances, Groups: amis, LaunchTemplates: amis, AMIs: amis, Managed: s.Instances}
	drifted := map[string]bool{}
	for g := 0; g < amis; g++ { // the generator adds one package to every 100th member of each group
		members := f.sim.GroupMembers(fmt.Sprintf("fleet-%02d", g))
		for i := 0; i < len(members); i += 100 {
			drifted[members[i]] = true
		}
	}
	isChanged := map[string]bool{}
	for _, id := range f.changed() {
		isChanged[id] = s.Warm
	}
	for _, id := range f.ids {
		entries := map[string]int{drift.TypeApplication: f.entries[f.images[id]], drift.TypeFileDigest: 2, drift.TypeSystemdUnit: 2} // 2 files, 2 units per AMI
		if drifted[id] {
			entries[drift.TypeApplication]++
		}
		if isChanged[id] {
			entries[drift.TypeApplication]++
		}
		for _, t := range types {
			read := !s.Warm || moved[id][t]
			switch {
			case s.Mode == apicost.ModeResourceDataSync && read:
				fc.ChangedObjects++
			case s.Mode == apicost.ModeResourceDataSync:
			case read:
				fc.ChangedTypeEntries = append(fc.ChangedTypeEntries, entries[t])
			default:
				fc.UnchangedTypeReads++
			}
		}
	}
	if s.Mode == apicost.ModeResourceDataSync {
		for range types {
			fc.KeysPerType = append(fc.KeysPerType, s.Instances)
		}
	}
	return apicost.LowerBound(fc)
}

// floor downloads and decodes the objects (instance, type) with the same
// client and concurrency and nothing else: no listing, no comparison, no
// state.
func (f *fleet) floor(objs [][2]string, conc int) (time.Duration, int64, error) {
	cfg := simAWS(f.url)
	cli := s3.NewFromConfig(*cfg, func(o *s3.Options) { o.UsePathStyle = true })
	loc := datasync.Location{Bucket: "driftd-inventory", Prefix: "inventory", AccountID: "123456789012", Region: "us-east-1"}
	var mu sync.Mutex
	var total int64
	start := time.Now()
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(conc)
	for _, o := range objs {
		id, t := o[0], o[1]
		g.Go(func() error {
			key := loc.Key(t, id)
			out, err := cli.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(key)})
			if err != nil {
				return err
			}
			defer out.Body.Close()
			d, err := datasync.Decode(key, id, out.Body, aws.ToInt64(out.ContentLength))
			if err != nil {
				return err
			}
			mu.Lock()
			total += d.Bytes
			mu.Unlock()
			return nil
		})
	}
	err := g.Wait()
	return time.Since(start), total, err
}

// compareCPU measures drift.Compare for n instances: each AMI's manifest
// against a snapshot with the manifest's content and one package added.
func (f *fleet) compareCPU(n int) (time.Duration, error) {
	type pair struct {
		m *drift.Manifest
		s *drift.Snapshot
	}
	var pairs []pair
	seen := map[string]bool{}
	for _, id := range f.ids {
		ami := f.images[id]
		if seen[ami] {
			continue
		}
		seen[ami] = true
		raw, err := os.ReadFile(filepath.Join(f.dir, ami+".json"))
		if err != nil {
			return 0, err
		}
		m, err := manifest.Decode(ami+".json", raw, manifest.Options{AMI: ami})
		if err != nil {
			return 0, err
		}
		s := drift.SnapshotFromManifest(m)
		s.Packages = append(s.Packages, drift.Package{Name: "bench-added", Version: "1.0", Release: "1", Format: m.PackageFormat})
		s.Normalize()
		pairs = append(pairs, pair{m, s})
	}
	pol, err := drift.CompilePolicy(&drift.Policy{})
	if err != nil {
		return 0, err
	}
	before := cpuTime()
	for i := range n {
		p := pairs[i%len(pairs)]
		if r := pol.Compare(p.m, p.s); r.Verdict != drift.VerdictDrifted {
			return 0, fmt.Errorf("compare: %s", r.Verdict)
		}
	}
	return cpuTime() - before, nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// profilePath, when set, receives a CPU profile of the measured scan.
var profilePath string

func startProfile() (func(), error) {
	if profilePath == "" {
		return func() {}, nil
	}
	f, err := os.Create(profilePath)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// peakRSS is VmHWM from /proc/self/status (0 when unavailable).
func peakRSS() int64 { return procStatus("VmHWM:") }

// currentRSS is VmRSS.
func currentRSS() int64 { return procStatus("VmRSS:") }

func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// resetPeakRSS resets VmHWM to the current RSS (Linux clear_refs 5), so a
// warm scan's peak excludes the cold scan before it.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

var _ = http.MethodGet
