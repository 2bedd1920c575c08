package daemon

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/scan"
)

// Where a per-instance fault applies: the inventory sources whose calls it
// breaks.
const (
	srcAny      = iota // discovery and agent status: both sources
	srcSSM             // ListInventoryEntries only
	srcDataSync        // Resource Data Sync objects only
)

// blastFault is one thing that can go wrong with one instance.
type blastFault struct {
	name   string
	source int // srcAny, srcSSM or srcDataSync
	// ids forces agent status by id batches (an EC2 tag selection); else
	// the whole fleet is selected and the managed nodes are listed.
	ids bool
	// setup breaks the victim (faults, admin actions).
	setup func(t *testing.T, sim *awssim.Sim, victim string)
	// reason is a substring of the victim's unknown reason.
	reason string
	// lasting: the fault changes the fleet beyond what ClearFaults undoes
	// (drift actions, terminations); the fleet must be reloaded after it.
	lasting bool
}

// appliesTo reports whether the fault breaks a scan reading inventory from
// Resource Data Sync (s3) or through the SSM API.
func (f blastFault) appliesTo(s3 bool) bool {
	return f.source == srcAny || (f.source == srcDataSync) == s3
}

// addFault installs f aimed at the victim (Terminate "*" terminates it).
func addFault(tmpl awssim.Fault) func(*testing.T, *awssim.Sim, string) {
	return func(t *testing.T, sim *awssim.Sim, victim string) {
		t.Helper()
		f := tmpl // each call aims a fresh copy
		if f.Terminate == "*" {
			f.Terminate = victim
		} else {
			f.InstanceID = victim
		}
		_, err := sim.AddFault(f)
		must(t, err)
	}
}

func inject(d awssim.Drift) func(*testing.T, *awssim.Sim, string) {
	return func(t *testing.T, sim *awssim.Sim, victim string) { must(t, sim.Inject(victim, d)) }
}

func patch(members map[string]string) map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	for k, v := range members {
		m[k] = json.RawMessage(v)
	}
	return m
}

// blastFaults is every per-instance fault driftd's collectors meet: the
// table of TestOneBadInstanceNeverBlindsTheRest and of the mixed-fleet
// matrix (TestBlastRadiusMatrix) and property test.
func blastFaults() []blastFault {
	const lie, dii = "ListInventoryEntries", "DescribeInstanceInformation"
	invalidNoIDs := "Instances [[]] not in a valid state for account 123456789012"
	return []blastFault{
		// Discovery: SSM agent status.
		{name: "agent never registered, nodes listed", setup: inject(awssim.Drift{Action: awssim.DriftUnregister}), lasting: true,
			reason: "not registered with SSM (DescribeInstanceInformation does not list it)"},
		{name: "agent never registered, ids asked", ids: true, setup: inject(awssim.Drift{Action: awssim.DriftUnregister}), lasting: true,
			reason: "not registered with SSM or not in a valid state (DescribeInstanceInformation: InvalidInstanceId)"},
		{name: "terminated after DescribeInstances, nodes listed", setup: addFault(awssim.Fault{Service: "ssm", Operation: dii, Terminate: "*", Count: 1}), lasting: true,
			reason: "not registered with SSM"},
		{name: "terminated after DescribeInstances, ids asked", ids: true, setup: addFault(awssim.Fault{Service: "ssm", Operation: dii, Terminate: "*", Count: 1}), lasting: true,
			reason: "DescribeInstanceInformation: InvalidInstanceId"},
		{name: "InvalidInstanceId naming no id (bisected)", ids: true,
			setup:  addFault(awssim.Fault{Service: "ssm", Operation: dii, ErrorRate: 1, ErrorCode: "InvalidInstanceId", ErrorMessage: invalidNoIDs}),
			reason: "DescribeInstanceInformation: InvalidInstanceId"},
		{name: "agent offline", setup: inject(awssim.Drift{Action: awssim.DriftAgentOff}), lasting: true, reason: "agent ConnectionLost"},

		// Inventory through ListInventoryEntries.
		{name: "no inventory", source: srcSSM, setup: addFault(awssim.Fault{Service: "ssm", Operation: lie, Patch: patch(map[string]string{"CaptureTime": "null", "Entries": "[]", "NextToken": "null", "SchemaVersion": "null"})}),
			reason: "no inventory yet"},
		{name: "throttled page after retries", source: srcSSM, setup: addFault(awssim.Fault{Service: "ssm", Operation: lie, Rate: 0.001, Burst: 1}),
			reason: "ThrottlingException"},
		{name: "server errors", source: srcSSM, setup: addFault(awssim.Fault{Service: "ssm", Operation: lie, ErrorRate: 1, ErrorStatus: 503}),
			reason: "ServiceUnavailable"},
		{name: "access denied", source: srcSSM, setup: addFault(awssim.Fault{Service: "ssm", Operation: lie, ErrorRate: 1, ErrorCode: "AccessDeniedException",
			ErrorMessage: "User is not authorized to perform: ssm:ListInventoryEntries"}), reason: "AccessDeniedException"},
		{name: "malformed entries", source: srcSSM, setup: addFault(awssim.Fault{Service: "ssm", Operation: lie, Patch: patch(map[string]string{"Entries": `[{"Name":5}]`})}),
			reason: "collecting inventory: ListInventoryEntries"},
		{name: "bad CaptureTime", source: srcSSM, setup: addFault(awssim.Fault{Service: "ssm", Operation: lie, Patch: patch(map[string]string{"CaptureTime": `"yesterday"`})}),
			reason: `bad CaptureTime "yesterday"`},
		{name: "NextToken loop", source: srcSSM, setup: addFault(awssim.Fault{Service: "ssm", Operation: lie, EchoNextToken: true}),
			reason: "NextToken did not advance"},
		{name: "truncated page", source: srcSSM, setup: addFault(awssim.Fault{Service: "ssm", Operation: lie, TruncateRate: 1}),
			reason: "collecting inventory: ListInventoryEntries"},
		{name: "terminated mid-scan (InvalidInstanceId)", source: srcSSM, setup: addFault(awssim.Fault{Service: "ssm", Operation: lie, ErrorRate: 1, ErrorCode: "InvalidInstanceId",
			ErrorMessage: "Instance Id is not valid or is not registered with Systems Manager."}), reason: "InvalidInstanceId"},
		{name: "connection dropped", source: srcSSM, setup: addFault(awssim.Fault{Service: "ssm", Operation: lie, DropRate: 1}),
			reason: "ListInventoryEntries AWS:Application page 1: operation error SSM: ListInventoryEntries, exceeded maximum number of attempts"},

		// Inventory through Resource Data Sync objects.
		{name: "data sync: server errors", source: srcDataSync, setup: addFault(awssim.Fault{Service: "s3", Operation: "GetObject", ErrorRate: 1, ErrorStatus: 503}),
			reason: "GetObject"},
		{name: "data sync: access denied", source: srcDataSync, setup: addFault(awssim.Fault{Service: "s3", Operation: "GetObject", ErrorRate: 1, ErrorCode: "AccessDenied", ErrorStatus: 403,
			ErrorMessage: "Access Denied"}), reason: "AccessDenied"},
		{name: "data sync: truncated object", source: srcDataSync, setup: addFault(awssim.Fault{Service: "s3", Operation: "GetObject", TruncateRate: 1}),
			reason: "collecting inventory"},
		{name: "data sync: object gone after listing", source: srcDataSync, setup: addFault(awssim.Fault{Service: "s3", Operation: "GetObject", ErrorRate: 1, ErrorCode: "NoSuchKey", ErrorStatus: 404,
			ErrorMessage: "The specified key does not exist."}), reason: "was listed but no longer exists"},
		{name: "data sync: throttled (SlowDown)", source: srcDataSync, setup: addFault(awssim.Fault{Service: "s3", Operation: "GetObject", ErrorRate: 1, ErrorCode: "SlowDown", ErrorStatus: 503,
			ErrorMessage: "Please reduce your request rate."}), reason: "api error SlowDown"},
		{name: "data sync: connection dropped", source: srcDataSync, setup: addFault(awssim.Fault{Service: "s3", Operation: "GetObject", DropRate: 1}),
			reason: "operation error S3: GetObject, exceeded maximum number of attempts"},
	}
}

// judgedLike compares a disturbed scan with an undisturbed one: the victim
// is unknown with a reason containing reason, every other instance has the
// verdict, severity and findings it had, and no instance is missing.
func judgedLike(t *testing.T, res *scan.Result, want map[string]verdictView, victim, reason string) {
	t.Helper()
	got := views(res)
	for id, w := range want {
		g, ok := got[id]
		if id == victim {
			r := byID(res)[id]
			if r == nil || r.Verdict != drift.VerdictUnknown || !strings.Contains(strings.Join(r.Reasons, "; "), reason) {
				t.Errorf("victim %s: %+v, want unknown with %q", id, r, reason)
			}
			continue
		}
		if !ok || !reflect.DeepEqual(g, w) {
			var reasons []string
			if r := byID(res)[id]; r != nil {
				reasons = r.Reasons
			}
			t.Errorf("%s changed: %+v, want %+v (reasons %v)", id, g, w, reasons)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d instances judged, want %d", len(got), len(want))
	}
}

// blastConfig makes one bad call fail fast: two attempts, tiny backoff,
// standard retries (adaptive mode would slow every call down to a throttled
// instance's rate).
func blastConfig(c *config.Config) {
	c.AWS.RetryMode = "standard"
	c.AWS.MaxAttempts = 2
	c.AWS.MaxBackoff = 5 * time.Millisecond
	c.Inventory.Concurrency = 4
}

// TestOneBadInstanceNeverBlindsTheRest: whatever goes wrong with one
// instance in any collector step changes that instance's verdict only (to
// unknown, with a reason); every other instance gets exactly the verdict
// and findings it gets when nothing goes wrong. One generated fleet of 20
// (two AMIs, two drifted instances) serves every case, reloaded after a
// fault that changes it; TestBlastRadiusMatrix runs the same faults over a
// mixed fleet.
func TestOneBadInstanceNeverBlindsTheRest(t *testing.T) {
	sim, url, _, c := syncFleet(t, 20, 120)
	blastConfig(c)
	victim := sim.GroupMembers("fleet-00")[1]
	want := map[bool]map[string]verdictView{}
	for _, s3 := range []bool{false, true} {
		cc := c
		if s3 {
			cc = s3Config(c)
		}
		ref, err := newTestApp(t, url, cc).Scan(context.Background(), nil)
		must(t, err)
		if len(ref.Instances) != 20 || ref.Summary[drift.VerdictDrifted] != 2 || ref.Summary[drift.VerdictInSync] != 18 {
			t.Fatalf("reference scan (data sync %v): %v", s3, ref.Summary)
		}
		want[s3] = views(ref)
	}
	for _, tc := range blastFaults() {
		s3 := tc.source == srcDataSync
		t.Run(tc.name, func(t *testing.T) {
			cc := *c
			if tc.ids {
				cc.Selection.Tags = map[string][]string{"fleet": {"generated"}}
			}
			if s3 {
				cc = *s3Config(&cc)
			}
			tc.setup(t, sim, victim)
			res, err := newTestApp(t, url, &cc).Scan(context.Background(), nil)
			must(t, err)
			wantLookup := collectors.AgentLookupList
			if tc.ids {
				wantLookup = collectors.AgentLookupIDs
			}
			if res.AgentLookup != wantLookup {
				t.Errorf("agent lookup %q, want %q", res.AgentLookup, wantLookup)
			}
			judgedLike(t, res, want[s3], victim, tc.reason)
		})
		sim.ClearFaults()
		if tc.lasting {
			must(t, sim.LoadScenario(awssim.GenerateFleet(20, 120, 2, 7)))
		}
	}
}

// TestDataSyncListingFailureBlindsNoOne: when a type's listing fails after
// retries, its objects are read directly and every verdict is the one a
// listed scan gives.
func TestDataSyncListingFailureBlindsNoOne(t *testing.T) {
	sim, url, _, c := syncFleet(t, 20, 120)
	blastConfig(c)
	c = s3Config(c)
	ref, err := newTestApp(t, url, c).Scan(context.Background(), nil)
	must(t, err)
	// Both attempts of the first listing (AWS:Application) fail.
	_, err = sim.AddFault(awssim.Fault{Service: "s3", Operation: "ListObjectsV2", ErrorRate: 1, ErrorStatus: 503, Count: 2})
	must(t, err)
	res, err := newTestApp(t, url, c).Scan(context.Background(), nil)
	must(t, err)
	if !reflect.DeepEqual(views(res), views(ref)) {
		t.Fatalf("verdicts changed: %v, want %v", res.Summary, ref.Summary)
	}
	if ds := res.Cost.DataSync; ds == nil || len(ds.ListFailed) != 1 || ds.ListFailed[0] != drift.TypeApplication {
		t.Fatalf("data sync stats %+v", ds)
	}
}
