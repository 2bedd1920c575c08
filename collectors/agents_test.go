package collectors

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/driftd/driftd/awssim"
)

// agentEnv is a simulated region with a generated fleet (no packages).
type agentEnv struct {
	sim *awssim.Sim
	d   *Discovery
}

func newAgentEnv(t testing.TB, instances, groups int) *agentEnv {
	t.Helper()
	sim := awssim.New(awssim.Options{LaunchDelay: -1, InventoryDelay: -1, InventoryInterval: -1, CallLogLimit: 10})
	if err := sim.LoadScenario(awssim.GenerateFleet(instances, 0, groups, 1)); err != nil {
		t.Fatal(err)
	}
	srv, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		BaseEndpoint: aws.String(srv.URL), HTTPClient: awssim.NewHTTPClient()}
	return &agentEnv{sim: sim, d: &Discovery{SSM: ssm.NewFromConfig(cfg)}}
}

func toInstances(ids []string) []Instance {
	out := make([]Instance, len(ids))
	for i, id := range ids {
		out[i] = Instance{ID: id}
	}
	return out
}

// everyNth returns every n-th id of the sorted ids (starting with the first).
func everyNth(ids []string, n int) []string {
	s := append([]string(nil), ids...)
	sort.Strings(s)
	var out []string
	for i := 0; i < len(s); i += n {
		out = append(out, s[i])
	}
	return out
}

var agentCostN = flag.Int("agentcost.instances", 2000, "fleet size of TestAgentLookupCost (docs/scale.md quotes 10000)")

// TestAgentLookupCost measures DescribeInstanceInformation calls with the
// simulator's call log for each way of reading agent status, on a fleet of
// 20 Auto Scaling groups: the whole fleet or one group selected, with no bad
// id, with one id per 50-id batch that SSM rejects (an agent that never
// registered), and with InvalidInstanceId messages that name no id (bisection).
// Every instance must come out right whatever the cost. Run with
// -agentcost.instances 10000 -v for the figures in docs/scale.md.
func TestAgentLookupCost(t *testing.T) {
	n, groups := *agentCostN, 20
	e := newAgentEnv(t, n, groups)
	var all []string
	for _, v := range e.sim.Instances() {
		all = append(all, v.ID)
	}
	sort.Strings(all)
	group := append([]string(nil), e.sim.GroupMembers("fleet-07")...)
	sort.Strings(group)

	type scenario struct {
		name      string
		selected  []string
		bad       []string // unregistered for this scenario
		noIDs     bool     // InvalidInstanceId messages name no id
		wantList  int      // expected calls (0: measured only)
		wantIDs   int
		wantAuto  string
		maxPerBad int // bisection bound per bad batch
	}
	batches := func(k int) int { return pages(k, AgentPageSize) }
	scenarios := []scenario{
		{name: "whole fleet", selected: all, wantList: batches(n), wantIDs: batches(n), wantAuto: AgentLookupList},
		{name: "whole fleet, 1 bad id per batch", selected: all, bad: everyNth(all, AgentPageSize),
			wantList: batches(n - n/AgentPageSize), wantIDs: 2 * batches(n), wantAuto: AgentLookupList},
		{name: "whole fleet, 1 bad id per batch, message names no id", selected: all, bad: everyNth(all, AgentPageSize), noIDs: true,
			wantList: batches(n - n/AgentPageSize), wantAuto: AgentLookupList, maxPerBad: 13},
		{name: "one group of 20", selected: group, wantList: batches(n), wantIDs: batches(len(group)), wantAuto: AgentLookupIDs},
		{name: "one group of 20, 1 bad id per batch", selected: group, bad: everyNth(group, AgentPageSize),
			wantList: batches(n - len(everyNth(group, AgentPageSize))), wantIDs: 2 * batches(len(group)), wantAuto: AgentLookupIDs},
		{name: "one group of 20, 1 bad id per batch, message names no id", selected: group, bad: everyNth(group, AgentPageSize), noIDs: true,
			wantList: batches(n - len(everyNth(group, AgentPageSize))), wantAuto: AgentLookupIDs, maxPerBad: 13},
	}
	var table strings.Builder
	fmt.Fprintf(&table, "| selection (%d instances, %d groups) | selected | rejected ids | list | ids | auto chooses | lower bound |\n|---|---:|---:|---:|---:|---|---:|\n", n, groups)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			for _, id := range sc.bad {
				if err := e.sim.Inject(id, awssim.Drift{Action: awssim.DriftUnregister}); err != nil {
					t.Fatal(err)
				}
				if sc.noIDs {
					if _, err := e.sim.AddFault(awssim.Fault{Service: "ssm", Operation: "DescribeInstanceInformation", InstanceID: id, ErrorRate: 1,
						ErrorCode: "InvalidInstanceId", ErrorMessage: "Instances [[]] not in a valid state for account 123456789012"}); err != nil {
						t.Fatal(err)
					}
				}
			}
			defer func() {
				e.sim.ClearFaults()
				for _, id := range sc.bad {
					_ = e.sim.Inject(id, awssim.Drift{Action: awssim.DriftRegister})
				}
			}()
			isBad := map[string]bool{}
			for _, id := range sc.bad {
				isBad[id] = true
			}
			calls := map[string]int{}
			for _, lookup := range []string{AgentLookupList, AgentLookupIDs} {
				e.sim.ResetCalls()
				r := e.d.describeAgents(context.Background(), toInstances(sc.selected), lookup)
				calls[lookup] = e.sim.CallCount("ssm", "DescribeInstanceInformation")
				if r.Err != nil || len(r.Failed) != 0 {
					t.Fatalf("%s: err %v, failed %d", lookup, r.Err, len(r.Failed))
				}
				for _, id := range sc.selected {
					switch {
					case isBad[id] && (r.Agents[id] != nil || r.Missing[id] == ""):
						t.Fatalf("%s: rejected %s: agent %v, missing %q", lookup, id, r.Agents[id], r.Missing[id])
					case !isBad[id] && r.Agents[id] == nil:
						t.Fatalf("%s: %s has no status (missing %q)", lookup, id, r.Missing[id])
					}
				}
			}
			if calls[AgentLookupList] != sc.wantList {
				t.Errorf("list: %d calls, want %d", calls[AgentLookupList], sc.wantList)
			}
			if sc.wantIDs != 0 && calls[AgentLookupIDs] != sc.wantIDs {
				t.Errorf("ids: %d calls, want %d", calls[AgentLookupIDs], sc.wantIDs)
			}
			if sc.maxPerBad != 0 {
				if max := batches(len(sc.selected)) + len(sc.bad)*(sc.maxPerBad-1); calls[AgentLookupIDs] > max {
					t.Errorf("ids (bisected): %d calls, more than %d", calls[AgentLookupIDs], max)
				}
			}
			auto := chooseAgentLookup(Selection{}, n, len(sc.selected))
			if auto != sc.wantAuto {
				t.Errorf("auto chooses %s, want %s", auto, sc.wantAuto)
			}
			lb := batches(len(sc.selected) - len(sc.bad))
			fmt.Fprintf(&table, "| %s | %d | %d | %d | %d | %s (%d) | %d |\n", sc.name, len(sc.selected), len(sc.bad),
				calls[AgentLookupList], calls[AgentLookupIDs], auto, calls[auto], lb)
		})
	}
	t.Logf("DescribeInstanceInformation calls:\n%s", table.String())
}

func TestChooseAgentLookup(t *testing.T) {
	for _, tc := range []struct {
		sel               Selection
		running, selected int
		want              string
	}{
		{Selection{}, 10000, 10000, AgentLookupList},
		{Selection{}, 10000, 9951, AgentLookupList}, // 200 pages either way
		{Selection{}, 10000, 9950, AgentLookupIDs},  // 199 batches < 200 pages
		{Selection{}, 10000, 500, AgentLookupIDs},
		{Selection{Tags: map[string][]string{"team": {"a"}}}, 100, 100, AgentLookupIDs}, // untagged nodes would be listed too
		{Selection{InstanceIDs: []string{"i-0123456789abcdef0"}}, 1, 1, AgentLookupIDs},
		{Selection{}, 0, 0, AgentLookupIDs},
	} {
		if got := chooseAgentLookup(tc.sel, tc.running, tc.selected); got != tc.want {
			t.Errorf("%+v running %d selected %d: %s, want %s", tc.sel, tc.running, tc.selected, got, tc.want)
		}
	}
}

func TestNamedIDs(t *testing.T) {
	batch := []string{"i-0aaaaaaaaaaaaaaa1", "i-0aaaaaaaaaaaaaaa2", "mi-0aaaaaaaaaaaaaaa3"}
	for _, tc := range []struct {
		msg  string
		want string
	}{
		{"Instances [[i-0aaaaaaaaaaaaaaa2]] not in a valid state for account 123456789012", "i-0aaaaaaaaaaaaaaa2"},
		{"Instances [[i-0aaaaaaaaaaaaaaa1, mi-0aaaaaaaaaaaaaaa3]] not in a valid state for account 1", "i-0aaaaaaaaaaaaaaa1,mi-0aaaaaaaaaaaaaaa3"},
		{"Instances [[]] not in a valid state for account 1", ""},
		{"Instances [[i-0bbbbbbbbbbbbbbbb]] not in a valid state for account 1", ""}, // not of this batch
		{"Instances [[i-0aaaaaaaaaaaaaaa3]] not in a valid state", ""},               // mi- id: no partial match
	} {
		got := namedIDs(errors.New(tc.msg), batch)
		var ids []string
		for id := range got {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		if strings.Join(ids, ",") != tc.want {
			t.Errorf("%q: %v, want %s", tc.msg, ids, tc.want)
		}
	}
}

// FuzzNamedIDs: whatever the message, only ids of the batch come back.
func FuzzNamedIDs(f *testing.F) {
	f.Add("Instances [[i-0aaaaaaaaaaaaaaa1, i-0aaaaaaaaaaaaaaa2]] not in a valid state for account 1")
	f.Add("Instances [[]] not in a valid state for account 1")
	f.Add("mi-0aaaaaaaaaaaaaaa3i-0aaaaaaaaaaaaaaa1")
	batch := []string{"i-0aaaaaaaaaaaaaaa1", "i-0aaaaaaaaaaaaaaa2", "mi-0aaaaaaaaaaaaaaa3"}
	f.Fuzz(func(t *testing.T, msg string) {
		for id := range namedIDs(errors.New(msg), batch) {
			if !strings.Contains(msg, id) {
				t.Fatalf("%q named though absent from %q", id, msg)
			}
			found := false
			for _, b := range batch {
				found = found || b == id
			}
			if !found {
				t.Fatalf("%q is not of the batch", id)
			}
		}
	})
}
