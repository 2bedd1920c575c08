package app

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
)

// blastCase is one thing that can go wrong with one instance.
type blastCase struct {
	name string
	s3   bool // inventory from Resource Data Sync objects (else the SSM API)
	// ids forces agent status by id batches (an EC2 tag selection); else
	// the whole fleet is selected and the managed nodes are listed.
	ids bool
	// setup breaks the victim (faults, admin actions).
	setup func(t *testing.T, sim *awssim.Sim, victim string)
	// reason is a substring of the victim's unknown reason.
	reason string
}

func addFault(f awssim.Fault) func(*testing.T, *awssim.Sim, string) {
	return func(t *testing.T, sim *awssim.Sim, victim string) {
		t.Helper()
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

// TestOneBadInstanceNeverBlindsTheRest: whatever goes wrong with one
// instance in any collector step changes that instance's verdict only (to
// unknown, with a reason); every other instance gets exactly the verdict
// and findings it gets when nothing goes wrong.
func TestOneBadInstanceNeverBlindsTheRest(t *testing.T) {
	const lie, dii = "ListInventoryEntries", "DescribeInstanceInformation"
	invalidNoIDs := "Instances [[]] not in a valid state for account 123456789012"
	cases := []blastCase{
		// Discovery: SSM agent status.
		{name: "agent never registered, nodes listed", setup: inject(awssim.Drift{Action: awssim.DriftUnregister}),
			reason: "not registered with SSM (DescribeInstanceInformation does not list it)"},
		{name: "agent never registered, ids asked", ids: true, setup: inject(awssim.Drift{Action: awssim.DriftUnregister}),
			reason: "not registered with SSM or not in a valid state (DescribeInstanceInformation: InvalidInstanceId)"},
		{name: "terminated after DescribeInstances, nodes listed", setup: addFault(awssim.Fault{Service: "ssm", Operation: dii, Terminate: "*", Count: 1}),
			reason: "not registered with SSM"},
		{name: "terminated after DescribeInstances, ids asked", ids: true, setup: addFault(awssim.Fault{Service: "ssm", Operation: dii, Terminate: "*", Count: 1}),
			reason: "DescribeInstanceInformation: InvalidInstanceId"},
		{name: "InvalidInstanceId naming no id (bisected)", ids: true,
			setup:  addFault(awssim.Fault{Service: "ssm", Operation: dii, ErrorRate: 1, ErrorCode: "InvalidInstanceId", ErrorMessage: invalidNoIDs}),
			reason: "DescribeInstanceInformation: InvalidInstanceId"},
		{name: "agent offline", setup: inject(awssim.Drift{Action: awssim.DriftAgentOff}), reason: "agent ConnectionLost"},

		// Inventory through ListInventoryEntries.
		{name: "no inventory", setup: addFault(awssim.Fault{Service: "ssm", Operation: lie, Patch: patch(map[string]string{"CaptureTime": "null", "Entries": "[]", "NextToken": "null", "SchemaVersion": "null"})}),
			reason: "no inventory yet"},
		{name: "throttled page after retries", setup: addFault(awssim.Fault{Service: "ssm", Operation: lie, Rate: 0.001, Burst: 1}),
			reason: "ThrottlingException"},
		{name: "server errors", setup: addFault(awssim.Fault{Service: "ssm", Operation: lie, ErrorRate: 1, ErrorStatus: 503}),
			reason: "ServiceUnavailable"},
		{name: "access denied", setup: addFault(awssim.Fault{Service: "ssm", Operation: lie, ErrorRate: 1, ErrorCode: "AccessDeniedException",
			ErrorMessage: "User is not authorized to perform: ssm:ListInventoryEntries"}), reason: "AccessDeniedException"},
		{name: "malformed entries", setup: addFault(awssim.Fault{Service: "ssm", Operation: lie, Patch: patch(map[string]string{"Entries": `[{"Name":5}]`})}),
			reason: "collecting inventory: ListInventoryEntries"},
		{name: "bad CaptureTime", setup: addFault(awssim.Fault{Service: "ssm", Operation: lie, Patch: patch(map[string]string{"CaptureTime": `"yesterday"`})}),
			reason: `bad CaptureTime "yesterday"`},
		{name: "NextToken loop", setup: addFault(awssim.Fault{Service: "ssm", Operation: lie, EchoNextToken: true}),
			reason: "NextToken did not advance"},
		{name: "truncated page", setup: addFault(awssim.Fault{Service: "ssm", Operation: lie, TruncateRate: 1}),
			reason: "collecting inventory: ListInventoryEntries"},
		{name: "terminated mid-scan (InvalidInstanceId)", setup: addFault(awssim.Fault{Service: "ssm", Operation: lie, ErrorRate: 1, ErrorCode: "InvalidInstanceId",
			ErrorMessage: "Instance Id is not valid or is not registered with Systems Manager."}), reason: "InvalidInstanceId"},

		// Inventory through Resource Data Sync objects.
		{name: "data sync: server errors", s3: true, setup: addFault(awssim.Fault{Service: "s3", Operation: "GetObject", ErrorRate: 1, ErrorStatus: 503}),
			reason: "GetObject"},
		{name: "data sync: access denied", s3: true, setup: addFault(awssim.Fault{Service: "s3", Operation: "GetObject", ErrorRate: 1, ErrorCode: "AccessDenied", ErrorStatus: 403,
			ErrorMessage: "Access Denied"}), reason: "AccessDenied"},
		{name: "data sync: truncated object", s3: true, setup: addFault(awssim.Fault{Service: "s3", Operation: "GetObject", TruncateRate: 1}),
			reason: "collecting inventory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim, url, _, c := syncFleet(t, 20, 120)
			c.AWS.RetryMode = "standard" // adaptive mode would slow every call down to a throttled instance's rate
			c.AWS.MaxAttempts = 2
			c.AWS.MaxBackoff = 5 * time.Millisecond
			c.Inventory.Concurrency = 4
			if tc.ids {
				c.Selection.Tags = map[string][]string{"fleet": {"generated"}}
			}
			if tc.s3 {
				c = s3Config(c)
			}
			victim := sim.GroupMembers("fleet-00")[1]
			ref, err := newTestApp(t, url, c).Scan(context.Background(), nil)
			must(t, err)
			want := views(ref)
			if len(want) != 20 || ref.Summary[drift.VerdictDrifted] != 2 || ref.Summary[drift.VerdictInSync] != 18 {
				t.Fatalf("reference scan: %v", ref.Summary)
			}

			tc.setup(t, sim, victim)
			a := newTestApp(t, url, c)
			res, err := a.Scan(context.Background(), nil)
			must(t, err)
			wantLookup := collectors.AgentLookupList
			if tc.ids {
				wantLookup = collectors.AgentLookupIDs
			}
			if res.AgentLookup != wantLookup {
				t.Errorf("agent lookup %q, want %q", res.AgentLookup, wantLookup)
			}
			got := views(res)
			for id, w := range want {
				g, ok := got[id]
				if id == victim {
					r := byID(res)[id]
					if r == nil || r.Verdict != drift.VerdictUnknown || !strings.Contains(strings.Join(r.Reasons, "; "), tc.reason) {
						t.Errorf("victim %s: %+v, want unknown with %q", id, r, tc.reason)
					}
					continue
				}
				if !ok || !reflect.DeepEqual(g, w) {
					t.Errorf("%s changed: %+v, want %+v (reasons %v)", id, g, w, byID(res)[id].Reasons)
				}
			}
			if len(got) != len(want) {
				t.Errorf("%d instances judged, want %d", len(got), len(want))
			}
		})
	}
}

// TestDataSyncListingFailureBlindsNoOne: when a type's listing fails after
// retries, its objects are read directly and every verdict is the one a
// listed scan gives.
func TestDataSyncListingFailureBlindsNoOne(t *testing.T) {
	sim, url, _, c := syncFleet(t, 20, 120)
	c.AWS.RetryMode, c.AWS.MaxAttempts, c.AWS.MaxBackoff = "standard", 2, 5*time.Millisecond
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
