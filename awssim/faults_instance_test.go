package awssim_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

// TestInstanceScopedFaults: a fault with InstanceID affects only requests
// naming that instance; error codes, patched answers, paging loops and
// terminations at a request boundary.
func TestInstanceScopedFaults(t *testing.T) {
	e := simtest.New(t, awssim.Options{TerminateDelay: 10 * time.Second}, awssim.DemoScenario())
	web := e.Sim.GroupMembers("web")
	bad, good := web[2], web[3]
	list := func(id string, token *string) (*ssm.ListInventoryEntriesOutput, error) {
		return e.SSM.ListInventoryEntries(e.Ctx, &ssm.ListInventoryEntriesInput{InstanceId: aws.String(id), TypeName: aws.String(awssim.TypeApplication), NextToken: token},
			func(o *ssm.Options) { o.Retryer = fastRetry() })
	}
	add := func(f awssim.Fault) string {
		t.Helper()
		id, err := e.Sim.AddFault(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Sim.RemoveFault(id) })
		return id
	}

	t.Run("error code for one instance", func(t *testing.T) {
		id := add(awssim.Fault{Service: "ssm", Operation: "ListInventoryEntries", InstanceID: bad, ErrorRate: 1, ErrorCode: "AccessDeniedException",
			ErrorMessage: "User is not authorized to perform: ssm:ListInventoryEntries on resource: " + bad})
		defer e.Sim.RemoveFault(id)
		_, err := list(bad, nil)
		if simtest.APICode(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "not authorized") || !strings.Contains(err.Error(), "StatusCode: 400") {
			t.Fatalf("targeted instance: %v", err)
		}
		if out, err := list(good, nil); err != nil || len(out.Entries) == 0 {
			t.Fatalf("other instance: %v", err)
		}
	})

	t.Run("patched answer", func(t *testing.T) {
		id := add(awssim.Fault{Service: "ssm", Operation: "ListInventoryEntries", InstanceID: bad, Patch: map[string]json.RawMessage{"CaptureTime": json.RawMessage(`"yesterday"`)}})
		defer e.Sim.RemoveFault(id)
		out, err := list(bad, nil)
		if err != nil || aws.ToString(out.CaptureTime) != "yesterday" || len(out.Entries) != 50 {
			t.Fatalf("patched: %v %v", err, out)
		}
		if out, err := list(good, nil); err != nil || !simtest.CaptureRE.MatchString(aws.ToString(out.CaptureTime)) {
			t.Fatalf("other instance patched: %v %v", err, out)
		}
	})

	t.Run("paging loop", func(t *testing.T) {
		id := add(awssim.Fault{Service: "ssm", Operation: "ListInventoryEntries", InstanceID: bad, EchoNextToken: true})
		defer e.Sim.RemoveFault(id)
		first, err := list(bad, nil)
		if err != nil || first.NextToken == nil {
			t.Fatalf("first page: %v", err)
		}
		second, err := list(bad, first.NextToken)
		if err != nil || aws.ToString(second.NextToken) != aws.ToString(first.NextToken) {
			t.Fatalf("second page token %q, want the request's %q (%v)", aws.ToString(second.NextToken), aws.ToString(first.NextToken), err)
		}
		o1, _ := list(good, nil)
		o2, err := list(good, o1.NextToken)
		if err != nil || aws.ToString(o2.NextToken) == aws.ToString(o1.NextToken) {
			t.Fatalf("other instance loops: %v", err)
		}
	})

	t.Run("terminated between two calls", func(t *testing.T) {
		victim := e.Sim.GroupMembers("api")[1]
		peer := e.Sim.GroupMembers("api")[2]
		add(awssim.Fault{Service: "ssm", Operation: "DescribeInstanceInformation", Terminate: victim, Count: 1})
		in := &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(50),
			Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: []string{peer, victim}}}}
		_, err := e.SSM.DescribeInstanceInformation(e.Ctx, in)
		var inv *ssmtypes.InvalidInstanceId
		if !errors.As(err, &inv) || inv.ErrorMessage() != "Instances [["+victim+"]] not in a valid state for account 123456789012" {
			t.Fatalf("want InvalidInstanceId naming %s: %v", victim, err)
		}
		if v, _ := e.Sim.Instance(victim); v.State != awssim.StateShuttingDown {
			t.Fatalf("victim state %s", v.State)
		}
		calls := e.Sim.Calls()
		if last := calls[len(calls)-1]; last.Fault != "terminate" || last.ErrorCode != "InvalidInstanceId" {
			t.Fatalf("call log %+v", last)
		}
		// Count 1: the next call is not affected.
		in.Filters[0].Values = []string{peer}
		if _, err := e.SSM.DescribeInstanceInformation(e.Ctx, in); err != nil {
			t.Fatal(err)
		}
		if v, _ := e.Sim.Instance(peer); v.State != awssim.StateRunning {
			t.Fatalf("peer state %s", v.State)
		}
	})

	t.Run("validation", func(t *testing.T) {
		for _, f := range []awssim.Fault{
			{ErrorCode: "AccessDenied"},                                 // no rate
			{ErrorRate: 1, ErrorStatus: 403},                            // 4xx without a code
			{ErrorRate: 1, ErrorCode: "AccessDenied", ErrorStatus: 302}, // not an error status
		} {
			if _, err := e.Sim.AddFault(f); err == nil {
				t.Errorf("accepted %+v", f)
			}
		}
	})

	t.Run("admin API", func(t *testing.T) {
		body := `{"service":"ssm","operation":"ListInventoryEntries","instanceId":"` + bad + `","errorRate":1,"errorCode":"AccessDeniedException","errorMessage":"denied","count":1}`
		resp, err := http.Post(e.URL+"/_awssim/faults", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if _, err := list(good, nil); err != nil {
			t.Fatalf("other instance: %v", err)
		}
		if _, err := list(bad, nil); simtest.APICode(err) != "AccessDeniedException" {
			t.Fatalf("targeted: %v", err)
		}
		if _, err := list(bad, nil); err != nil {
			t.Fatalf("count 1 exhausted: %v", err)
		}
		var fs []awssim.Fault
		r, err := http.Get(e.URL + "/_awssim/faults")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		if err := json.NewDecoder(r.Body).Decode(&fs); err != nil || len(fs) == 0 || fs[len(fs)-1].InstanceID != bad {
			t.Fatalf("listed faults %+v %v", fs, err)
		}
	})
}
