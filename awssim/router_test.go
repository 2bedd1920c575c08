package awssim_test

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
	"github.com/driftd/driftd/awssim/wire"
)

// errorCode extracts the error code from a response in any protocol shape,
// failing when the body is not a well-formed error of that shape.
func errorCode(t testing.TB, w *httptest.ResponseRecorder) string {
	t.Helper()
	body := w.Body.Bytes()
	ct := w.Header().Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "application/x-amz-json"):
		var j struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(body, &j); err != nil || j.Type == "" {
			t.Fatalf("malformed JSON error body %q: %v", body, err)
		}
		return j.Type
	case strings.HasPrefix(ct, "text/xml"), strings.HasPrefix(ct, "application/xml"):
		var x struct {
			XMLName xml.Name
			Errors  []struct {
				Code string `xml:"Error>Code"`
			} `xml:"Errors"`
			Code  string `xml:"Error>Code"`
			Code2 string `xml:"Code"`
		}
		if err := xml.Unmarshal(body, &x); err != nil {
			t.Fatalf("malformed XML error body %q: %v", body, err)
		}
		switch x.XMLName.Local {
		case "Response": // ec2Query
			if len(x.Errors) == 1 && x.Errors[0].Code != "" {
				return x.Errors[0].Code
			}
		case "ErrorResponse": // awsQuery
			if x.Code != "" {
				return x.Code
			}
		case "Error": // restXml
			if x.Code2 != "" {
				return x.Code2
			}
		}
		t.Fatalf("XML error body without a code: %q", body)
	case ct == "application/json":
		if c := w.Header().Get("X-Amzn-Errortype"); c != "" {
			return c
		}
	}
	t.Fatalf("unexpected error content type %q body %q", ct, body)
	return ""
}

func TestRouterBadInput(t *testing.T) {
	s := awssim.New(awssim.Options{Clock: awssim.NewManualClock(simtest.T0)})
	if err := s.LoadScenario(awssim.DemoScenario()); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		req    simtest.RawReq
		status int
		code   string
	}{
		{"bad form encoding", simtest.RawReq{CType: simtest.Form, Body: "Action=DescribeInstances&Version=2016-11-15&X=%zz"}, 400, "MalformedQueryString"},
		{"unknown version", simtest.RawReq{CType: simtest.Form, Body: "Action=DescribeInstances&Version=1999-01-01"}, 400, "InvalidAction"},
		{"missing action", simtest.RawReq{CType: simtest.Form, Body: "Version=2016-11-15"}, 400, "MissingAction"},
		{"ec2 unknown action", simtest.RawReq{CType: simtest.Form, Body: "Action=LaunchRocket&Version=2016-11-15"}, 400, "InvalidAction"},
		{"asg unknown action", simtest.RawReq{CType: simtest.Form, Body: "Action=LaunchRocket&Version=2011-01-01"}, 400, "InvalidAction"},
		{"ec2 max results not a number", simtest.RawReq{CType: simtest.Form, Body: "Action=DescribeInstances&Version=2016-11-15&MaxResults=ten"}, 400, "InvalidParameterValue"},
		{"ec2 forged token", simtest.RawReq{CType: simtest.Form, Body: "Action=DescribeInstances&Version=2016-11-15&MaxResults=5&NextToken=abc"}, 400, "InvalidParameterValue"},
		{"asg max records", simtest.RawReq{CType: simtest.Form, Body: "Action=DescribeAutoScalingGroups&Version=2011-01-01&MaxRecords=0"}, 400, "ValidationError"},
		{"asg missing param", simtest.RawReq{CType: simtest.Form, Body: "Action=SetInstanceHealth&Version=2011-01-01&HealthStatus=Unhealthy"}, 400, "ValidationError"},
		{"asg bad bool", simtest.RawReq{CType: simtest.Form, Body: "Action=TerminateInstanceInAutoScalingGroup&Version=2011-01-01&InstanceId=i-0123456789abcdef0&ShouldDecrementDesiredCapacity=maybe"}, 400, "ValidationError"},
		{"unknown target prefix", simtest.RawReq{Target: "AmazonFoo.Bar", CType: "application/x-amz-json-1.1", Body: "{}"}, 400, "UnknownOperationException"},
		{"target without op", simtest.RawReq{Target: "AmazonSSM", CType: "application/x-amz-json-1.1", Body: "{}"}, 400, "UnknownOperationException"},
		{"unknown ssm op", simtest.RawReq{Target: "AmazonSSM.LaunchRocket", CType: "application/x-amz-json-1.1", Body: "{}"}, 400, "UnknownOperationException"},
		{"invalid json", simtest.RawReq{Target: "AmazonSSM.ListInventoryEntries", CType: "application/x-amz-json-1.1", Body: "{"}, 400, "SerializationException"},
		{"wrong json type", simtest.RawReq{Target: "AmazonSSM.ListInventoryEntries", CType: "application/x-amz-json-1.1", Body: `{"InstanceId":5,"TypeName":"AWS:Application"}`}, 400, "SerializationException"},
		{"wrong json type max", simtest.RawReq{Target: "AmazonSSM.GetInventory", CType: "application/x-amz-json-1.1", Body: `{"MaxResults":"50"}`}, 400, "SerializationException"},
		{"json array body", simtest.RawReq{Target: "AmazonSSM.GetInventory", CType: "application/x-amz-json-1.1", Body: `[]`}, 400, "SerializationException"},
		{"missing required", simtest.RawReq{Target: "AmazonSSM.ListInventoryEntries", CType: "application/x-amz-json-1.1", Body: `{}`}, 400, "ValidationException"},
		{"ssm max results", simtest.RawReq{Target: "AmazonSSM.ListInventoryEntries", CType: "application/x-amz-json-1.1", Body: `{"InstanceId":"i-0123456789abcdef0","TypeName":"AWS:Application","MaxResults":0}`}, 400, "ValidationException"},
		{"ssm forged token", simtest.RawReq{Target: "AmazonSSM.GetInventory", CType: "application/x-amz-json-1.1", Body: `{"NextToken":"Zm9yZ2Vk.AAAA"}`}, 400, "InvalidNextToken"},
		{"eventbridge no entries", simtest.RawReq{Target: "AWSEvents.PutEvents", CType: "application/x-amz-json-1.1", Body: `{}`}, 400, "ValidationException"},
		{"sns publish without topic", simtest.RawReq{CType: simtest.Form, Body: "Action=Publish&Version=2010-03-31"}, 400, "InvalidParameter"},
		{"s3 unknown bucket", simtest.RawReq{Method: http.MethodGet, Path: "/some-bucket/key"}, 404, "NoSuchBucket"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := simtest.Serve(s, c.req)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d (body %s)", w.Code, c.status, w.Body.String())
			}
			if got := errorCode(t, w); got != c.code {
				t.Fatalf("code %q, want %q (body %s)", got, c.code, w.Body.String())
			}
		})
	}
	for _, c := range s.Calls() {
		if c.Fault == "panic" {
			t.Fatalf("handler panicked on %+v", c)
		}
	}
}

func TestAdminAPI(t *testing.T) {
	clk := awssim.NewManualClock(simtest.T0)
	s := awssim.New(awssim.Options{Clock: clk, LaunchDelay: 10e9})
	do := func(method, path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		return w
	}
	if w := do("POST", "/_awssim/scenario?name=demo", ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"Instances": 42`) {
		t.Fatalf("load demo: %d %s", w.Code, w.Body)
	}
	yml := "amis:\n  - name: tiny\n    packages:\n      - {name: bash, version: '5.2', release: '1.amzn2023'}\nlaunchTemplates:\n  - {name: t, versions: [tiny]}\ngroups:\n  - {name: g, launchTemplate: t, min: 1, max: 3, desired: 2}\n"
	if w := do("POST", "/_awssim/scenario", yml); w.Code != 200 || !strings.Contains(w.Body.String(), `"Instances": 2`) {
		t.Fatalf("load yaml: %d %s", w.Code, w.Body)
	}
	if w := do("POST", "/_awssim/scenario", "amis:\n  - name: x\n    colour: red\n"); w.Code != 400 || !strings.Contains(w.Body.String(), "colour") {
		t.Fatalf("unknown key: %d %s", w.Code, w.Body)
	}
	if w := do("POST", "/_awssim/inject", `{"group":"g","index":0,"action":"install","package":{"name":"nc","version":"1.0","release":"1"}}`); w.Code != 200 {
		t.Fatalf("inject: %d %s", w.Code, w.Body)
	}
	if s.Summary().Drifted != 1 {
		t.Fatal("inject had no effect")
	}
	if w := do("POST", "/_awssim/inject", `{"group":"g","index":9,"action":"heal"}`); w.Code != 404 {
		t.Fatalf("inject bad index: %d", w.Code)
	}
	if w := do("POST", "/_awssim/inject", `{"group":"g","index":0,"action":"explode"}`); w.Code != 400 {
		t.Fatalf("inject bad action: %d", w.Code)
	}
	w := do("POST", "/_awssim/faults", `{"service":"ssm","operation":"ListInventoryEntries","rate":1,"burst":1,"latency":"5ms"}`)
	if w.Code != 201 || len(s.Faults()) != 1 {
		t.Fatalf("add fault: %d %s", w.Code, w.Body)
	}
	if w := do("POST", "/_awssim/faults", `{"latency":"soon"}`); w.Code != 400 {
		t.Fatalf("bad fault: %d", w.Code)
	}
	if w := do("DELETE", "/_awssim/faults/"+s.Faults()[0].ID, ""); w.Code != 200 || len(s.Faults()) != 0 {
		t.Fatalf("remove fault: %d", w.Code)
	}
	simtest.Serve(s, simtest.RawReq{CType: simtest.Form, Body: "Action=DescribeInstances&Version=2016-11-15"})
	if w := do("GET", "/_awssim/calls", ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"ec2:DescribeInstances": 1`) {
		t.Fatalf("calls: %s", w.Body)
	}
	if w := do("POST", "/_awssim/clock/advance?by=1m", ""); w.Code != 200 || !strings.Contains(w.Body.String(), "12:01:00") {
		t.Fatalf("advance: %s", w.Body)
	}
	if w := do("GET", "/_awssim/nope", ""); w.Code != 404 {
		t.Fatalf("unknown endpoint: %d", w.Code)
	}
	wall := awssim.New(awssim.Options{})
	req := httptest.NewRequest("POST", "/_awssim/clock/advance?by=1m", nil)
	rec := httptest.NewRecorder()
	wall.ServeHTTP(rec, req)
	if rec.Code != 409 {
		t.Fatalf("advance on wall clock: %d", rec.Code)
	}
}

// FuzzRouter posts arbitrary targets, content types and bodies: the
// simulator must never panic and must answer either a success or a
// well-formed error in the request's protocol.
func FuzzRouter(f *testing.F) {
	s := awssim.New(awssim.Options{Clock: awssim.NewManualClock(simtest.T0)})
	if err := s.LoadScenario(awssim.DemoScenario()); err != nil {
		f.Fatal(err)
	}
	seeds := []simtest.RawReq{
		{CType: simtest.Form, Body: "Action=DescribeInstances&Version=2016-11-15&MaxResults=5"},
		{CType: simtest.Form, Body: "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag:team&Filter.1.Value.1=data"},
		{CType: simtest.Form, Body: "Action=DescribeAutoScalingGroups&Version=2011-01-01&AutoScalingGroupNames.member.1=web"},
		{CType: simtest.Form, Body: "Action=StartInstanceRefresh&Version=2011-01-01&AutoScalingGroupName=web&Preferences.MinHealthyPercentage=500"},
		{CType: simtest.Form, Body: "Action=SetInstanceHealth&Version=2011-01-01&InstanceId=i-0&HealthStatus=Unhealthy"},
		{CType: simtest.Form, Body: "Action=CreateTags&Version=2016-11-15&ResourceId.1=i-0&Tag.1.Key=a"},
		{CType: simtest.Form, Body: "Action=RunInstances&Version=2016-11-15&MinCount=1&MaxCount=1&ImageId=ami-0a1b2c3d4e5f60001"},
		{Target: "AmazonSSM.ListInventoryEntries", CType: "application/x-amz-json-1.1", Body: `{"InstanceId":"i-0123456789abcdef0","TypeName":"AWS:Application","MaxResults":3}`},
		{Target: "AmazonSSM.GetInventory", CType: "application/x-amz-json-1.1", Body: `{"Filters":[{"Key":"AWS:Application.Name","Values":["bash"],"Type":"BeginWith"}]}`},
		{Target: "AmazonSSM.DescribeInstanceInformation", CType: "application/x-amz-json-1.1", Body: `{"Filters":[{"Key":"tag:team","Values":["x"]}]}`},
		{Target: "AmazonSSM.PutInventory", CType: "application/x-amz-json-1.1", Body: `{"InstanceId":"i-0123456789abcdef0","Items":[{"TypeName":"Custom:A","SchemaVersion":"1.0","CaptureTime":"2026-01-01T00:00:00Z","Content":[{"a":"b"}]}]}`},
		{Target: "AmazonSSM.PutParameter", CType: "application/x-amz-json-1.1", Body: `{"Name":"/a/b","Value":"v","Overwrite":true}`},
		{Target: "AmazonSSM.GetParametersByPath", CType: "application/x-amz-json-1.1", Body: `{"Path":"/","Recursive":true}`},
		{Target: "AmazonSSM.", CType: "application/x-amz-json-1.1", Body: `{"a":`},
		{Target: "", CType: "text/plain", Body: "hello"},
	}
	for _, sd := range seeds {
		f.Add(sd.Target, sd.CType, sd.Body)
	}
	f.Fuzz(func(t *testing.T, target, ctype, body string) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		if target != "" {
			req.Header.Set("X-Amz-Target", target)
		}
		req.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		calls := s.Calls()
		if last := calls[len(calls)-1]; last.Fault == "panic" {
			t.Fatalf("handler panicked: target=%q body=%q", target, body)
		}
		switch {
		case w.Code >= 400:
			_ = errorCode(t, w)
		case w.Code == 200:
			ct := w.Header().Get("Content-Type")
			b := w.Body.Bytes()
			if strings.HasPrefix(ct, "application/x-amz-json") {
				if !json.Valid(b) {
					t.Fatalf("200 with invalid JSON: %q", b)
				}
			} else if strings.HasPrefix(ct, "text/xml") {
				var v struct{ XMLName xml.Name }
				if err := xml.Unmarshal(b, &v); err != nil || !strings.HasSuffix(v.XMLName.Local, "Response") {
					t.Fatalf("200 with malformed XML (%v): %q", err, b)
				}
			} else {
				t.Fatalf("200 with content type %q", ct)
			}
		default:
			t.Fatalf("unexpected status %d", w.Code)
		}
		if len(calls) > 10000 {
			s.ResetCalls()
		}
	})
}

// TestRouterUnregisteredService: a service nobody registered answers with
// its protocol's error shape, never a bare 404 page.
func TestRouterUnregisteredService(t *testing.T) {
	s := awssim.New(awssim.Options{Clock: awssim.NewManualClock(simtest.T0)})
	for _, svc := range []string{wire.SvcEvents, wire.SvcSNS, wire.SvcS3} {
		s.Register(svc, nil)
	}
	cases := []struct {
		name   string
		req    simtest.RawReq
		status int
		code   string
	}{
		{"json", simtest.RawReq{Target: "AWSEvents.PutEvents", CType: "application/x-amz-json-1.1", Body: `{}`}, 400, "UnknownOperationException"},
		{"query", simtest.RawReq{CType: "application/x-www-form-urlencoded", Body: "Action=Publish&Version=2010-03-31"}, 400, "InvalidAction"},
		{"rest", simtest.RawReq{Method: http.MethodGet, Path: "/some-bucket/key"}, 501, "NotImplemented"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := simtest.Serve(s, c.req)
			if w.Code != c.status || !strings.Contains(w.Body.String(), c.code) {
				t.Fatalf("status %d body %s, want %d %s", w.Code, w.Body.String(), c.status, c.code)
			}
		})
	}
}
