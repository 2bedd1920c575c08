package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/ha"
	"github.com/driftd/driftd/internal/webauth"
	"github.com/driftd/driftd/remediation"
)

// replicaNet is one replica's network: it can be cut entirely (the
// process died) or for DynamoDB only (a partition between the replica and
// the lease table), and it counts the mutating AWS calls the replica sent.
type replicaNet struct {
	next    http.RoundTripper
	dead    atomic.Bool
	ddbDown atomic.Bool

	mu  sync.Mutex
	ops []string // mutating calls sent: "Operation params"
}

var mutatingOps = map[string]bool{
	"SetInstanceHealth": true, "TerminateInstanceInAutoScalingGroup": true, "StartInstanceRefresh": true,
	"CreateTags": true, "DeleteTags": true, "CreateOrUpdateTags": true,
}

func (n *replicaNet) RoundTrip(r *http.Request) (*http.Response, error) {
	if n.dead.Load() {
		return nil, errors.New("simulated: replica process is gone")
	}
	isDDB := strings.HasPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_")
	if isDDB && n.ddbDown.Load() {
		return nil, errors.New("simulated partition: DynamoDB unreachable")
	}
	if !isDDB && r.Body != nil {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(b))
		if form, err := url.ParseQuery(string(b)); err == nil && mutatingOps[form.Get("Action")] {
			n.mu.Lock()
			n.ops = append(n.ops, form.Get("Action")+" "+form.Get("InstanceId")+form.Get("ResourceId.1")+form.Get("Tags.member.1.ResourceId"))
			n.mu.Unlock()
		}
	}
	return n.next.RoundTrip(r)
}

func (n *replicaNet) mutations() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.ops...)
}

// haFleet is a simulated region with one group of four instances, three of
// them drifted, and the HA table.
type haFleet struct {
	sim     *awssim.Sim
	url     string
	dir     string
	ids     []string
	drifted []string
	table   string
}

func newHAFleet(t *testing.T) *haFleet { return newHAFleetLaunching(t, 0) }

// newHAFleetLaunching: replacement instances stay Pending for launch.
func newHAFleetLaunching(t *testing.T, launch time.Duration) *haFleet {
	t.Helper()
	t.Setenv("HA_TEST_SECRET", "s3cr3t")
	sim, u := startSim(t, awssim.Options{TerminateDelay: -1, LaunchDelay: launch})
	f := &haFleet{sim: sim, url: u, dir: t.TempDir(), table: "driftd-ha"}
	ami, err := sim.AddAMI(awssim.AMISpec{Name: "web-base", Packages: basePackages})
	must(t, err)
	_, err = sim.AddLaunchTemplate("web-lt", "m6i.large", ami)
	must(t, err)
	f.ids, err = sim.AddGroup(awssim.GroupSpec{Name: "web", LaunchTemplateName: "web-lt", Min: 0, Max: 10, Desired: 4}, time.Hour)
	must(t, err)
	m, err := sim.Manifest(ami)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(f.dir, ami+".json"), m, 0o644))
	f.drifted = f.ids[:3]
	for _, id := range f.drifted {
		must(t, sim.Inject(id, awssim.Drift{Action: awssim.DriftInstall, Package: &awssim.PackageSpec{Name: "nmap", Version: "7.93", Release: "1.amzn2023"}}))
	}
	ddb := dynamodb.NewFromConfig(*simAWS(u))
	// The table as deploy/cloudformation creates it: key pk, and the sparse
	// audit index the HTTP API's audit log is listed through.
	_, err = ddb.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName: aws.String(f.table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(ha.AttrAuditPart), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(ha.AttrAuditSK), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{IndexName: aws.String(ha.AuditIndex),
			KeySchema: []types.KeySchemaElement{{AttributeName: aws.String(ha.AttrAuditPart), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(ha.AttrAuditSK), KeyType: types.KeyTypeRange}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}}},
		BillingMode: types.BillingModePayPerRequest,
	})
	must(t, err)
	return f
}

// replacements are the replacement calls in the simulator's call log.
func (f *haFleet) replacements() []string {
	var out []string
	for _, c := range f.sim.Calls() {
		if c.Operation == "SetInstanceHealth" || c.Operation == "TerminateInstanceInAutoScalingGroup" {
			out = append(out, c.Params)
		}
	}
	return out
}

// haReplica is one driftd replica with its engines.
type haReplica struct {
	name string
	d    *Daemon
	eng  *Engines
	net  *replicaNet
	reg  *prometheus.Registry
	hook *receiver
	stop context.CancelFunc
}

func (f *haFleet) config(t *testing.T, holder, stateFile, hookURL string, ha bool) *config.Config {
	t.Helper()
	haSection := ""
	if ha {
		haSection = fmt.Sprintf("ha: {dynamodb_table: %s, lease_duration: 3s, skew_margin: 1s, holder: %s}\n", f.table, holder)
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
baselines:
  - dir: {path: %q}
inventory:
  rate_limits: {ssm: 2000, ec2: 2000, autoscaling: 2000}
aws: {max_attempts: 1}
state: {file: %q}
alerting:
  sinks:
    - {name: hook, type: webhook, url: %q, secret_env: HA_TEST_SECRET, timeout: 2s, max_retries: 0}
remediation:
  debounce_scans: 1
  min_severity: low
  approvals: {ttl: 1h}
  global: {fleet_breaker_percent: 100}
  groups:
    - {match: web, mode: replace, budget: "1", breaker: {drift_percent: 100}}
%s`, f.dir, stateFile, hookURL, haSection)))
	must(t, err)
	return cfg
}

func (f *haFleet) replica(t *testing.T, name string, cfg *config.Config) *haReplica {
	t.Helper()
	r := &haReplica{name: name, net: &replicaNet{next: http.DefaultTransport}, reg: prometheus.NewRegistry(), hook: &receiver{}}
	if len(cfg.Alerting.Sinks) > 0 {
		srv := httptest.NewServer(r.hook)
		t.Cleanup(srv.Close)
		cfg.Alerting.Sinks[0].URL = srv.URL
	}
	awsCfg := simAWS(f.url)
	awsCfg.HTTPClient = &http.Client{Transport: r.net, Timeout: 10 * time.Second}
	d, err := New(context.Background(), Options{Config: cfg, AWS: awsCfg, Logger: zap.NewNop(), Registry: r.reg})
	must(t, err)
	eng, err := d.AttachEngines(zap.NewNop())
	must(t, err)
	r.d, r.eng = d, eng
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = func() { cancel(); d.act.wait() }
	d.act.start(ctx)
	t.Cleanup(func() {
		r.stop()
		_ = eng.Close(context.Background())
	})
	return r
}

// leader reads driftd_leader from the replica's registry.
func (r *haReplica) leader(t *testing.T) float64 { return gatherValue(t, r.reg, "driftd_leader") }

func gatherValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	must(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			sum := 0.0
			for _, m := range mf.GetMetric() {
				sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
			return sum
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < d {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
	return 0
}

// twoReplicas starts r1, waits until it leads, then starts r2.
func twoReplicas(t *testing.T, f *haFleet) (leader, follower *haReplica) {
	t.Helper()
	dir := t.TempDir()
	r1 := f.replica(t, "r1", f.config(t, "r1", filepath.Join(dir, "r1.json"), "http://unused", true))
	waitUntil(t, 5*time.Second, "r1 to lead", func() bool { return r1.leader(t) == 1 })
	r2 := f.replica(t, "r2", f.config(t, "r2", filepath.Join(dir, "r2.json"), "http://unused", true))
	return r1, r2
}

// TestHATwoReplicasExactlyOneLeader: two replicas sharing the table; over
// several renewal periods driftd_leader sums to 1 at every sample, only the
// leader acts on a scan, and both serve the leader status.
func TestHATwoReplicasExactlyOneLeader(t *testing.T) {
	f := newHAFleet(t)
	r1, r2 := twoReplicas(t, f)
	for range 40 { // 2 s: two renewals
		if sum := r1.leader(t) + r2.leader(t); sum != 1 {
			t.Fatalf("driftd_leader sums to %v", sum)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, r := range []*haReplica{r2, r1} {
		if _, err := r.d.Scan(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := r2.net.mutations(); len(got) != 0 {
		t.Errorf("the follower made mutating calls: %v", got)
	}
	if got := f.replacements(); len(got) != 1 {
		t.Errorf("replacement calls %v, want 1 (budget 1)", got)
	}
	r1.hook.waitFor(t, "", "drift.detected")
	time.Sleep(200 * time.Millisecond)
	if got := r2.hook.types(""); len(got) != 0 {
		t.Errorf("the follower notified: %v", got)
	}
	if tok := gatherValue(t, r1.reg, "driftd_leader_fence_token"); tok < 1 {
		t.Errorf("leader fence token %v", tok)
	}
	st := r2.d.LeaderStatus(context.Background())
	if !st.HA || st.Leader || st.Lease == nil || st.Lease.Holder != "r1" || st.Lease.Token < 1 || !st.Lease.Expiry.After(time.Now()) {
		t.Errorf("follower's leader status %+v (lease %+v)", st, st.Lease)
	}
	// The same through the HTTP API.
	srv := httptest.NewServer(r1.d.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/leader")
	must(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"leader": true`) || !strings.Contains(string(b), `"holder": "r1"`) {
		t.Errorf("GET /api/v1/leader: %s", b)
	}
}

// TestHAFailoverMidReplacement kills the leader while its first replacement
// is in flight: the other replica takes over after the lease expires, finds
// the replacement in the shared state, and every drifted instance is
// replaced exactly once, one at a time (budget 1) across the failover.
func TestHAFailoverMidReplacement(t *testing.T) {
	f := newHAFleetLaunching(t, 7*time.Second)
	r1, r2 := twoReplicas(t, f)
	ctx := context.Background()
	_, err := r2.d.Scan(ctx, nil) // the follower scans too
	must(t, err)
	_, err = r1.d.Scan(ctx, nil)
	must(t, err)
	first := f.replacements()
	if len(first) != 1 {
		t.Fatalf("leader made %d replacement calls, want 1: %v", len(first), first)
	}
	if st := r2.eng.Remediation.Status(); len(st.InFlight) != 1 {
		t.Fatalf("the follower does not see the replacement in flight: %+v", st.InFlight)
	}

	// Kill r1: its process stops and its network is gone (no release).
	r1.net.dead.Store(true)
	r1.stop()
	took := waitUntil(t, 10*time.Second, "r2 to take over", func() bool { return r2.leader(t) == 1 })
	t.Logf("r2 took over %s after r1 died (lease 3s, margin 1s)", took.Round(100*time.Millisecond))
	// r1's replacement is still launching: the new leader waits for it
	// (budget 1) instead of starting another.
	_, err = r2.d.Scan(ctx, nil)
	must(t, err)
	if st := r2.eng.Remediation.Status(); len(st.InFlight) != 1 || !strings.Contains(first[0], st.InFlight[0].InstanceID) {
		t.Errorf("new leader's in-flight %+v, want r1's replacement of %s", st.InFlight, first[0])
	}
	if got := f.replacements(); len(got) != 1 {
		t.Fatalf("the new leader started a replacement while r1's was in flight (budget 1): %v", got)
	}

	maxInFlight := 0
	waitUntil(t, 60*time.Second, "every drifted instance replaced", func() bool {
		_, err := r2.d.Scan(ctx, nil)
		if err != nil {
			t.Logf("scan: %v", err)
			return false
		}
		st := r2.eng.Remediation.Status()
		maxInFlight = max(maxInFlight, len(st.InFlight))
		done := 0
		for _, id := range f.drifted {
			for _, c := range f.replacements() {
				if strings.Contains(c, id) {
					done++
					break
				}
			}
		}
		return done == len(f.drifted) && len(st.InFlight) == 0
	})
	calls := f.replacements()
	per := map[string]int{}
	for _, c := range calls {
		for _, id := range f.ids {
			if strings.Contains(c, id) {
				per[id]++
			}
		}
	}
	for _, id := range f.drifted {
		if per[id] != 1 {
			t.Errorf("%s replaced %d times, want exactly once (calls %v)", id, per[id], calls)
		}
	}
	if per[f.ids[3]] != 0 || len(calls) != len(f.drifted) {
		t.Errorf("replacement calls %v: want one per drifted instance, none for the in-sync one", calls)
	}
	t.Logf("replacement calls %d, most in flight at once %d", len(calls), maxInFlight)
	if maxInFlight > 1 {
		t.Errorf("%d replacements in flight at once after the failover, budget 1", maxInFlight)
	}
	for _, m := range r2.net.mutations() {
		if strings.HasPrefix(m, "SetInstanceHealth "+first[0]) {
			t.Errorf("r2 repeated r1's replacement: %s", m)
		}
	}
}

// TestHALeaderCutOffFromDynamoDBStopsActing partitions the leader from
// DynamoDB only: it stops acting (driftd_leader 0) before the other replica
// can take over, and a scan on it, even a remediation cycle run directly on
// its engine, makes no mutating call and sends no notification.
func TestHALeaderCutOffFromDynamoDBStopsActing(t *testing.T) {
	f := newHAFleet(t)
	r1, r2 := twoReplicas(t, f)
	cut := time.Now()
	r1.net.ddbDown.Store(true)
	var stopped, took time.Duration
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		stopped = waitUntil(t, 10*time.Second, "r1 to stop", func() bool { return r1.leader(t) == 0 })
	}()
	go func() {
		defer wg.Done()
		took = waitUntil(t, 10*time.Second, "r2 to take over", func() bool { return r2.leader(t) == 1 })
	}()
	wg.Wait()
	t.Logf("after the cut: r1 stopped acting at %s, r2 took over at %s", stopped.Round(10*time.Millisecond), took.Round(10*time.Millisecond))
	if stopped >= took {
		t.Fatalf("r1 stopped acting at %s, after r2 took over at %s", stopped, took)
	}
	if gatherValue(t, r1.reg, "driftd_leader_lease_renew_failures_total") < 1 {
		t.Error("no renewal failure counted")
	}
	t.Logf("cut at %s", cut.Format(time.RFC3339Nano))
	_, err := r1.d.Scan(context.Background(), nil)
	must(t, err)
	res, err := r1.d.Scan(context.Background(), nil)
	must(t, err)
	// Bypass the leader-only observer: the engine's own writes and calls
	// are fenced too.
	_, _ = r1.eng.Remediation.Cycle(context.Background(), remediation.FromScan(res))
	if got := r1.net.mutations(); len(got) != 0 {
		t.Errorf("the cut-off leader made mutating calls: %v", got)
	}
	if len(f.replacements()) != 0 {
		t.Errorf("replacements: %v", f.replacements())
	}
	time.Sleep(200 * time.Millisecond)
	if got := r1.hook.types(""); len(got) != 0 {
		t.Errorf("the cut-off leader notified: %v", got)
	}
}

// TestHAApprovalsSurviveFailover: an approval given on the follower is
// seen by the leader, and after a failover by the new leader.
func TestHAApprovalsSurviveFailover(t *testing.T) {
	f := newHAFleet(t)
	r1, r2 := twoReplicas(t, f)
	a, err := r2.eng.Remediation.Approve(f.ids[3], "alice", time.Hour)
	must(t, err)
	if got := r1.eng.Remediation.Approvals(); len(got) != 1 || got[0].InstanceID != a.InstanceID || got[0].By != "alice" {
		t.Fatalf("leader's approvals %+v", got)
	}
	r1.net.dead.Store(true)
	r1.stop()
	waitUntil(t, 10*time.Second, "r2 to take over", func() bool { return r2.leader(t) == 1 })
	if got := r2.eng.Remediation.Approvals(); len(got) != 1 || got[0].InstanceID != f.ids[3] {
		t.Fatalf("new leader's approvals %+v", got)
	}
	must(t, r2.eng.Remediation.ResetBreaker(context.Background(), "web"))
	if h := r2.eng.Remediation.Status().History["web"]; !h.Override {
		t.Errorf("reset not stored: %+v", h)
	}
}

// TestSingleReplicaDecisionsSurviveRestart: without ha, approvals and
// resets are in the decisions file next to state.file; a restart finds
// them. A second driftd on the same state file refuses to start.
func TestSingleReplicaDecisionsSurviveRestart(t *testing.T) {
	f := newHAFleet(t)
	stateFile := filepath.Join(t.TempDir(), "state.json")
	cfg := f.config(t, "", stateFile, "http://unused", false)
	r := f.replica(t, "one", cfg)
	_, err := r.eng.Remediation.Approve(f.ids[3], "bob", time.Hour)
	must(t, err)
	must(t, r.eng.Remediation.ResetBreaker(context.Background(), "fleet"))

	// A second process on the same state file: refused.
	d2, err := New(context.Background(), Options{Config: f.config(t, "", stateFile, "http://unused", false), AWS: simAWS(f.url), Logger: zap.NewNop(), Registry: prometheus.NewRegistry()})
	must(t, err)
	if _, err := d2.AttachEngines(zap.NewNop()); !errors.Is(err, ErrStateFileInUse) {
		t.Fatalf("second driftd on one state file: err = %v, want ErrStateFileInUse", err)
	}

	// Restart: the first process stops, a new one starts on the same files.
	r.stop()
	must(t, r.eng.Close(context.Background()))
	again := f.replica(t, "again", f.config(t, "", stateFile, "http://unused", false))
	if got := again.eng.Remediation.Approvals(); len(got) != 1 || got[0].InstanceID != f.ids[3] || got[0].By != "bob" {
		t.Fatalf("approvals after restart: %+v", got)
	}
	if _, err := os.Stat(cfg.State.DecisionsFile()); err != nil {
		t.Errorf("decisions file: %v", err)
	}
	if again.leader(t) != 1 {
		t.Error("a single replica reports driftd_leader 0")
	}
}

// TestDamagedStateFilesStartWithAWarning: an empty, truncated or garbage
// state or decisions file never stops the daemon; it starts from the backup
// or empty and says so in driftd_state_recovered.
func TestDamagedStateFilesStartWithAWarning(t *testing.T) {
	f := newHAFleet(t)
	for _, tc := range []struct {
		name             string
		state, decisions []byte
		want             []string
	}{
		{"empty files", []byte{}, []byte{}, []string{"file=decisions,from=empty", "file=state,from=empty"}},
		{"truncated state, garbage decisions", []byte(`{"version":`), []byte("\x00\x00garbage"), []string{"file=decisions,from=empty", "file=state,from=empty"}},
		{"good files", nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stateFile := filepath.Join(t.TempDir(), "state.json")
			cfg := f.config(t, "", stateFile, "http://unused", false)
			if tc.state != nil {
				must(t, os.WriteFile(stateFile, tc.state, 0o600))
				must(t, os.WriteFile(cfg.State.DecisionsFile(), tc.decisions, 0o600))
			}
			r := f.replica(t, "one", cfg)
			mfs, err := r.reg.Gather()
			must(t, err)
			var got []string
			for _, mf := range mfs {
				if mf.GetName() != "driftd_state_recovered" {
					continue
				}
				for _, m := range mf.GetMetric() {
					var labels []string
					for _, l := range m.GetLabel() {
						labels = append(labels, l.GetName()+"="+l.GetValue())
					}
					sort.Strings(labels)
					if m.GetGauge().GetValue() == 1 {
						got = append(got, strings.Join(labels, ","))
					}
				}
			}
			sort.Strings(got)
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("driftd_state_recovered = %v, want %v", got, tc.want)
			}
			if _, err := r.eng.Remediation.Approve(f.ids[0], "carol", time.Hour); err != nil {
				t.Errorf("approving after recovery: %v", err)
			}
			r.stop()
			must(t, r.eng.Close(context.Background()))
		})
	}
}

// TestStateSaveFailureFailsReadiness: a state file that cannot be saved
// counts driftd_state_save_failures_total and fails /-/ready until a save
// succeeds again.
func TestStateSaveFailureFailsReadiness(t *testing.T) {
	f := newHAFleet(t)
	dir := filepath.Join(t.TempDir(), "state")
	must(t, os.Mkdir(dir, 0o755))
	r := f.replica(t, "one", f.config(t, "", filepath.Join(dir, "state.json"), "http://unused", false))
	srv := httptest.NewServer(r.d.Handler())
	defer srv.Close()
	ready := func() int {
		resp, err := http.Get(srv.URL + "/-/ready")
		must(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	_, err := r.d.Scan(context.Background(), nil)
	must(t, err)
	if code := ready(); code != 200 {
		t.Fatalf("ready after a good save: %d", code)
	}
	// The directory disappears (a lost mount): saves fail.
	must(t, os.RemoveAll(dir))
	_, err = r.d.Scan(context.Background(), nil)
	must(t, err)
	if code := ready(); code != http.StatusServiceUnavailable {
		t.Errorf("ready after a failed save: %d, want 503", code)
	}
	if n := gatherValue(t, r.reg, "driftd_state_save_failures_total"); n != 1 {
		t.Errorf("driftd_state_save_failures_total = %v", n)
	}
	must(t, os.Mkdir(dir, 0o755))
	_, err = r.d.Scan(context.Background(), nil)
	must(t, err)
	if code := ready(); code != 200 {
		t.Errorf("ready after the save succeeded again: %d", code)
	}
}

// TestHACleanShutdownHandsOver runs the leader through Daemon.Run: on
// shutdown it stops scanning, then releases the lease, and the other
// replica takes over at its next attempt instead of after the expiry.
func TestHACleanShutdownHandsOver(t *testing.T) {
	f := newHAFleet(t)
	dir := t.TempDir()
	cfg := f.config(t, "r1", filepath.Join(dir, "r1.json"), "http://unused", true)
	awsCfg := simAWS(f.url)
	reg := prometheus.NewRegistry()
	d, err := New(context.Background(), Options{Config: cfg, AWS: awsCfg, Logger: zap.NewNop(), Registry: reg})
	must(t, err)
	eng, err := d.AttachEngines(zap.NewNop())
	must(t, err)
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, ln) }()
	waitUntil(t, 5*time.Second, "r1 to lead", func() bool { return gatherValue(t, reg, "driftd_leader") == 1 })
	waitUntil(t, 10*time.Second, "r1's first scan", func() bool { return d.LastScan() != nil })
	r2 := f.replica(t, "r2", f.config(t, "r2", filepath.Join(dir, "r2.json"), "http://unused", true))
	time.Sleep(1500 * time.Millisecond) // r2 has tried and been refused
	if r2.leader(t) != 0 {
		t.Fatal("r2 leads while r1 holds the lease")
	}
	stopped := time.Now()
	cancel()
	must(t, <-done)
	if gatherValue(t, reg, "driftd_leader") != 0 {
		t.Error("r1 still reports driftd_leader 1 after shutdown")
	}
	took := waitUntil(t, 5*time.Second, "r2 to take over", func() bool { return r2.leader(t) == 1 })
	t.Logf("r2 took over %s after r1's Run returned (%s after the signal)", took.Round(10*time.Millisecond), time.Since(stopped).Round(10*time.Millisecond))
	if took >= 3*time.Second {
		t.Errorf("takeover after %s: the lease was not released (lease 3s)", took)
	}
}

// TestHAAuditLogSharedByReplicas: with ha set, the HTTP API's audit log is
// kept in the HA table: an approval made through one replica's API is in
// the audit log every replica lists, and it survives that replica.
func TestHAAuditLogSharedByReplicas(t *testing.T) {
	f := newHAFleet(t)
	tokens, tok := operatorToken(t)
	dir := t.TempDir()
	cfg1 := f.config(t, "r1", filepath.Join(dir, "r1.json"), "http://unused", true)
	cfg1.HTTP.Auth.Tokens = tokens
	r1 := f.replica(t, "r1", cfg1)
	waitUntil(t, 5*time.Second, "r1 to lead", func() bool { return r1.leader(t) == 1 })
	cfg2 := f.config(t, "r2", filepath.Join(dir, "r2.json"), "http://unused", true)
	cfg2.HTTP.Auth.Tokens = tokens
	r2 := f.replica(t, "r2", cfg2)
	api1 := httptest.NewServer(r1.d.Handler())
	t.Cleanup(api1.Close)
	api2 := httptest.NewServer(r2.d.Handler())
	t.Cleanup(api2.Close)

	resp := send(t, "POST", api2.URL+"/api/v1/approvals", tok, `{"instance_id":"`+f.ids[3]+`","by":"alice"}`)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("approval through the follower: %d", resp.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(dir, "r2.json.audit")); !os.IsNotExist(err) {
		t.Errorf("with ha the audit log is in the table, yet a local audit file exists (%v)", err)
	}
	list := func(url string) []webauth.Record {
		resp := send(t, "GET", url+"/api/v1/audit?limit=10", tok, "")
		defer resp.Body.Close()
		var page struct {
			Records []webauth.Record `json:"records"`
		}
		must(t, json.NewDecoder(resp.Body).Decode(&page))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/v1/audit: %d", resp.StatusCode)
		}
		return page.Records
	}
	for _, api := range []string{api1.URL, api2.URL} {
		recs := list(api)
		if len(recs) != 1 || recs[0].Route != "POST /api/v1/approvals" || recs[0].Identity != "ops" || recs[0].Decision != "allowed" {
			t.Errorf("audit log through %s: %+v, want the one approval by ops", api, recs)
		}
	}
	// The approval is recorded under the authenticated caller, with the
	// name the request gave beside it.
	if a := r1.eng.Remediation.Approvals(); len(a) != 1 || !strings.HasPrefix(a[0].By, "ops (") || !strings.HasSuffix(a[0].By, " (for alice)") {
		t.Errorf("approvals %+v, want one by the authenticated ops, for alice", a)
	}
	r2.stop()
	if recs := list(api1.URL); len(recs) != 1 {
		t.Errorf("after the follower stopped, the audit log lists %d records, want 1", len(recs))
	}
}
