package awssim

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/driftd/driftd/awssim/wire"
)

// TestInstanceScopedFaults: a fault with InstanceID affects only requests
// naming that instance; error codes, patched answers, paging loops and
// terminations at a request boundary.
func TestInstanceScopedFaults(t *testing.T) {
	e := newEnv(t, Options{TerminateDelay: 10 * time.Second}, DemoScenario())
	web := e.sim.GroupMembers("web")
	bad, good := web[2], web[3]
	list := func(id string, token *string) (*ssm.ListInventoryEntriesOutput, error) {
		return e.ssm.ListInventoryEntries(e.ctx, &ssm.ListInventoryEntriesInput{InstanceId: aws.String(id), TypeName: aws.String(TypeApplication), NextToken: token},
			func(o *ssm.Options) { o.Retryer = fastRetry() })
	}
	add := func(f Fault) string {
		t.Helper()
		id, err := e.sim.AddFault(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.sim.RemoveFault(id) })
		return id
	}

	t.Run("error code for one instance", func(t *testing.T) {
		id := add(Fault{Service: "ssm", Operation: "ListInventoryEntries", InstanceID: bad, ErrorRate: 1, ErrorCode: "AccessDeniedException",
			ErrorMessage: "User is not authorized to perform: ssm:ListInventoryEntries on resource: " + bad})
		defer e.sim.RemoveFault(id)
		_, err := list(bad, nil)
		if apiCode(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "not authorized") || !strings.Contains(err.Error(), "StatusCode: 400") {
			t.Fatalf("targeted instance: %v", err)
		}
		if out, err := list(good, nil); err != nil || len(out.Entries) == 0 {
			t.Fatalf("other instance: %v", err)
		}
	})

	t.Run("patched answer", func(t *testing.T) {
		id := add(Fault{Service: "ssm", Operation: "ListInventoryEntries", InstanceID: bad, Patch: map[string]json.RawMessage{"CaptureTime": json.RawMessage(`"yesterday"`)}})
		defer e.sim.RemoveFault(id)
		out, err := list(bad, nil)
		if err != nil || aws.ToString(out.CaptureTime) != "yesterday" || len(out.Entries) != 50 {
			t.Fatalf("patched: %v %v", err, out)
		}
		if out, err := list(good, nil); err != nil || !captureRE.MatchString(aws.ToString(out.CaptureTime)) {
			t.Fatalf("other instance patched: %v %v", err, out)
		}
	})

	t.Run("paging loop", func(t *testing.T) {
		id := add(Fault{Service: "ssm", Operation: "ListInventoryEntries", InstanceID: bad, EchoNextToken: true})
		defer e.sim.RemoveFault(id)
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
		victim := e.sim.GroupMembers("api")[1]
		peer := e.sim.GroupMembers("api")[2]
		add(Fault{Service: "ssm", Operation: "DescribeInstanceInformation", Terminate: victim, Count: 1})
		in := &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(50),
			Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: []string{peer, victim}}}}
		_, err := e.ssm.DescribeInstanceInformation(e.ctx, in)
		var inv *ssmtypes.InvalidInstanceId
		if !errors.As(err, &inv) || inv.ErrorMessage() != "Instances [["+victim+"]] not in a valid state for account 123456789012" {
			t.Fatalf("want InvalidInstanceId naming %s: %v", victim, err)
		}
		if v, _ := e.sim.Instance(victim); v.State != StateShuttingDown {
			t.Fatalf("victim state %s", v.State)
		}
		calls := e.sim.Calls()
		if last := calls[len(calls)-1]; last.Fault != "terminate" || last.ErrorCode != "InvalidInstanceId" {
			t.Fatalf("call log %+v", last)
		}
		// Count 1: the next call is not affected.
		in.Filters[0].Values = []string{peer}
		if _, err := e.ssm.DescribeInstanceInformation(e.ctx, in); err != nil {
			t.Fatal(err)
		}
		if v, _ := e.sim.Instance(peer); v.State != StateRunning {
			t.Fatalf("peer state %s", v.State)
		}
	})

	t.Run("validation", func(t *testing.T) {
		for _, f := range []Fault{
			{ErrorCode: "AccessDenied"},                                 // no rate
			{ErrorRate: 1, ErrorStatus: 403},                            // 4xx without a code
			{ErrorRate: 1, ErrorCode: "AccessDenied", ErrorStatus: 302}, // not an error status
		} {
			if _, err := e.sim.AddFault(f); err == nil {
				t.Errorf("accepted %+v", f)
			}
		}
	})

	t.Run("admin API", func(t *testing.T) {
		body := `{"service":"ssm","operation":"ListInventoryEntries","instanceId":"` + bad + `","errorRate":1,"errorCode":"AccessDeniedException","errorMessage":"denied","count":1}`
		resp, err := http.Post(e.url+"/_awssim/faults", "application/json", strings.NewReader(body))
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
		if _, err := list(bad, nil); apiCode(err) != "AccessDeniedException" {
			t.Fatalf("targeted: %v", err)
		}
		if _, err := list(bad, nil); err != nil {
			t.Fatalf("count 1 exhausted: %v", err)
		}
		var fs []Fault
		r, err := http.Get(e.url + "/_awssim/faults")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		if err := json.NewDecoder(r.Body).Decode(&fs); err != nil || len(fs) == 0 || fs[len(fs)-1].InstanceID != bad {
			t.Fatalf("listed faults %+v %v", fs, err)
		}
	})
}

// TestNamesInstance covers the request shapes a fault's InstanceID matches.
func TestNamesInstance(t *testing.T) {
	const id = "i-0123456789abcdef0"
	req := func(body, form, path string) *wire.Request {
		r := &wire.Request{Body: []byte(body)}
		if form != "" {
			r.Form, _ = url.ParseQuery(form)
		}
		hr, _ := http.NewRequest("GET", "http://x"+path, bytes.NewReader(nil))
		r.HTTP = hr
		return r
	}
	for _, tc := range []struct {
		name string
		r    *wire.Request
		want bool
	}{
		{"ssm InstanceId", req(`{"InstanceId":"`+id+`","TypeName":"AWS:Application"}`, "", "/"), true},
		{"ssm filter value", req(`{"Filters":[{"Key":"InstanceIds","Values":["i-0aaaaaaaaaaaaaaaa","`+id+`"]}]}`, "", "/"), true},
		{"longer id", req(`{"InstanceId":"`+id+`1"}`, "", "/"), false},
		{"ec2 form", req("", "Action=DescribeInstances&InstanceId.1="+id, "/"), true},
		{"s3 object", req("", "", "/bucket/inventory/AWS:Application/accountid=1/region=r/resourcetype=ManagedInstanceInventory/"+id+".json"), true},
		{"s3 other object", req("", "", "/bucket/inventory/AWS:Application/accountid=1/region=r/resourcetype=ManagedInstanceInventory/i-0aaaaaaaaaaaaaaaa.json"), false},
		{"s3 listing", req("", "", "/bucket"), false},
	} {
		if got := namesInstance(tc.r, id); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestFaultOperationS3 names the S3 operations faults can target.
func TestFaultOperationS3(t *testing.T) {
	for _, tc := range []struct{ method, target, want string }{
		{"GET", "/bucket/inv/AWS:Application/x/i-0123456789abcdef0.json", "GetObject"},
		{"HEAD", "/bucket/key", "HeadObject"},
		{"PUT", "/bucket/key", "PutObject"},
		{"DELETE", "/bucket/key", "DeleteObject"},
		{"GET", "/bucket?list-type=2&prefix=inv%2F", "ListObjectsV2"},
		{"GET", "/bucket", ""},
	} {
		hr, _ := http.NewRequest(tc.method, "http://x"+tc.target, nil)
		if got := faultOperation(&wire.Request{Service: wire.SvcS3, Protocol: wire.RESTXML, HTTP: hr}); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.method, tc.target, got, tc.want)
		}
	}
}
