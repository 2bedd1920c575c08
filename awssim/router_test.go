package awssim

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/driftd/driftd/awssim/wire"
)

type rawReq struct {
	method, path, target, ctype, body string
}

func serve(s *Sim, r rawReq) *httptest.ResponseRecorder {
	method := r.method
	if method == "" {
		method = http.MethodPost
	}
	path := r.path
	if path == "" {
		path = "/"
	}
	req := httptest.NewRequest(method, path, strings.NewReader(r.body))
	if r.target != "" {
		req.Header.Set("X-Amz-Target", r.target)
	}
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	return w
}

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

const form = "application/x-www-form-urlencoded; charset=utf-8"

func TestRouterBadInput(t *testing.T) {
	s := New(Options{Clock: NewManualClock(t0)})
	if err := s.LoadScenario(DemoScenario()); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		req    rawReq
		status int
		code   string
	}{
		{"bad form encoding", rawReq{ctype: form, body: "Action=DescribeInstances&Version=2016-11-15&X=%zz"}, 400, "MalformedQueryString"},
		{"unknown version", rawReq{ctype: form, body: "Action=DescribeInstances&Version=1999-01-01"}, 400, "InvalidAction"},
		{"missing action", rawReq{ctype: form, body: "Version=2016-11-15"}, 400, "MissingAction"},
		{"ec2 unknown action", rawReq{ctype: form, body: "Action=LaunchRocket&Version=2016-11-15"}, 400, "InvalidAction"},
		{"asg unknown action", rawReq{ctype: form, body: "Action=LaunchRocket&Version=2011-01-01"}, 400, "InvalidAction"},
		{"ec2 max results not a number", rawReq{ctype: form, body: "Action=DescribeInstances&Version=2016-11-15&MaxResults=ten"}, 400, "InvalidParameterValue"},
		{"ec2 forged token", rawReq{ctype: form, body: "Action=DescribeInstances&Version=2016-11-15&MaxResults=5&NextToken=abc"}, 400, "InvalidParameterValue"},
		{"asg max records", rawReq{ctype: form, body: "Action=DescribeAutoScalingGroups&Version=2011-01-01&MaxRecords=0"}, 400, "ValidationError"},
		{"asg missing param", rawReq{ctype: form, body: "Action=SetInstanceHealth&Version=2011-01-01&HealthStatus=Unhealthy"}, 400, "ValidationError"},
		{"asg bad bool", rawReq{ctype: form, body: "Action=TerminateInstanceInAutoScalingGroup&Version=2011-01-01&InstanceId=i-0123456789abcdef0&ShouldDecrementDesiredCapacity=maybe"}, 400, "ValidationError"},
		{"unknown target prefix", rawReq{target: "AmazonFoo.Bar", ctype: "application/x-amz-json-1.1", body: "{}"}, 400, "UnknownOperationException"},
		{"target without op", rawReq{target: "AmazonSSM", ctype: "application/x-amz-json-1.1", body: "{}"}, 400, "UnknownOperationException"},
		{"unknown ssm op", rawReq{target: "AmazonSSM.LaunchRocket", ctype: "application/x-amz-json-1.1", body: "{}"}, 400, "UnknownOperationException"},
		{"invalid json", rawReq{target: "AmazonSSM.ListInventoryEntries", ctype: "application/x-amz-json-1.1", body: "{"}, 400, "SerializationException"},
		{"wrong json type", rawReq{target: "AmazonSSM.ListInventoryEntries", ctype: "application/x-amz-json-1.1", body: `{"InstanceId":5,"TypeName":"AWS:Application"}`}, 400, "SerializationException"},
		{"wrong json type max", rawReq{target: "AmazonSSM.GetInventory", ctype: "application/x-amz-json-1.1", body: `{"MaxResults":"50"}`}, 400, "SerializationException"},
		{"json array body", rawReq{target: "AmazonSSM.GetInventory", ctype: "application/x-amz-json-1.1", body: `[]`}, 400, "SerializationException"},
		{"missing required", rawReq{target: "AmazonSSM.ListInventoryEntries", ctype: "application/x-amz-json-1.1", body: `{}`}, 400, "ValidationException"},
		{"ssm max results", rawReq{target: "AmazonSSM.ListInventoryEntries", ctype: "application/x-amz-json-1.1", body: `{"InstanceId":"i-0123456789abcdef0","TypeName":"AWS:Application","MaxResults":0}`}, 400, "ValidationException"},
		{"ssm forged token", rawReq{target: "AmazonSSM.GetInventory", ctype: "application/x-amz-json-1.1", body: `{"NextToken":"Zm9yZ2Vk.AAAA"}`}, 400, "InvalidNextToken"},
		{"eventbridge no entries", rawReq{target: "AWSEvents.PutEvents", ctype: "application/x-amz-json-1.1", body: `{}`}, 400, "ValidationException"},
		{"sns publish without topic", rawReq{ctype: form, body: "Action=Publish&Version=2010-03-31"}, 400, "InvalidParameter"},
		{"s3 unknown bucket", rawReq{method: http.MethodGet, path: "/some-bucket/key"}, 404, "NoSuchBucket"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := serve(s, c.req)
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
	clk := NewManualClock(t0)
	s := New(Options{Clock: clk, LaunchDelay: 10e9})
	do := func(method, path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		return w
	}
	if w := do("POST", "/_awssim/scenario?name=demo", ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"Instances": 38`) {
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
	serve(s, rawReq{ctype: form, body: "Action=DescribeInstances&Version=2016-11-15"})
	if w := do("GET", "/_awssim/calls", ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"ec2:DescribeInstances": 1`) {
		t.Fatalf("calls: %s", w.Body)
	}
	if w := do("POST", "/_awssim/clock/advance?by=1m", ""); w.Code != 200 || !strings.Contains(w.Body.String(), "12:01:00") {
		t.Fatalf("advance: %s", w.Body)
	}
	if w := do("GET", "/_awssim/nope", ""); w.Code != 404 {
		t.Fatalf("unknown endpoint: %d", w.Code)
	}
	wall := New(Options{})
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
	s := New(Options{Clock: NewManualClock(t0)})
	if err := s.LoadScenario(DemoScenario()); err != nil {
		f.Fatal(err)
	}
	seeds := []rawReq{
		{ctype: form, body: "Action=DescribeInstances&Version=2016-11-15&MaxResults=5"},
		{ctype: form, body: "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag:team&Filter.1.Value.1=data"},
		{ctype: form, body: "Action=DescribeAutoScalingGroups&Version=2011-01-01&AutoScalingGroupNames.member.1=web"},
		{ctype: form, body: "Action=StartInstanceRefresh&Version=2011-01-01&AutoScalingGroupName=web&Preferences.MinHealthyPercentage=500"},
		{ctype: form, body: "Action=SetInstanceHealth&Version=2011-01-01&InstanceId=i-0&HealthStatus=Unhealthy"},
		{ctype: form, body: "Action=CreateTags&Version=2016-11-15&ResourceId.1=i-0&Tag.1.Key=a"},
		{ctype: form, body: "Action=RunInstances&Version=2016-11-15&MinCount=1&MaxCount=1&ImageId=ami-0a1b2c3d4e5f60001"},
		{target: "AmazonSSM.ListInventoryEntries", ctype: "application/x-amz-json-1.1", body: `{"InstanceId":"i-0123456789abcdef0","TypeName":"AWS:Application","MaxResults":3}`},
		{target: "AmazonSSM.GetInventory", ctype: "application/x-amz-json-1.1", body: `{"Filters":[{"Key":"AWS:Application.Name","Values":["bash"],"Type":"BeginWith"}]}`},
		{target: "AmazonSSM.DescribeInstanceInformation", ctype: "application/x-amz-json-1.1", body: `{"Filters":[{"Key":"tag:team","Values":["x"]}]}`},
		{target: "AmazonSSM.PutInventory", ctype: "application/x-amz-json-1.1", body: `{"InstanceId":"i-0123456789abcdef0","Items":[{"TypeName":"Custom:A","SchemaVersion":"1.0","CaptureTime":"2026-01-01T00:00:00Z","Content":[{"a":"b"}]}]}`},
		{target: "AmazonSSM.PutParameter", ctype: "application/x-amz-json-1.1", body: `{"Name":"/a/b","Value":"v","Overwrite":true}`},
		{target: "AmazonSSM.GetParametersByPath", ctype: "application/x-amz-json-1.1", body: `{"Path":"/","Recursive":true}`},
		{target: "AmazonSSM.", ctype: "application/x-amz-json-1.1", body: `{"a":`},
		{target: "", ctype: "text/plain", body: "hello"},
	}
	for _, sd := range seeds {
		f.Add(sd.target, sd.ctype, sd.body)
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
	s := New(Options{Clock: NewManualClock(t0)})
	for _, svc := range []string{wire.SvcEvents, wire.SvcSNS, wire.SvcS3} {
		s.Register(svc, nil)
	}
	cases := []struct {
		name   string
		req    rawReq
		status int
		code   string
	}{
		{"json", rawReq{target: "AWSEvents.PutEvents", ctype: "application/x-amz-json-1.1", body: `{}`}, 400, "UnknownOperationException"},
		{"query", rawReq{ctype: "application/x-www-form-urlencoded", body: "Action=Publish&Version=2010-03-31"}, 400, "InvalidAction"},
		{"rest", rawReq{method: http.MethodGet, path: "/some-bucket/key"}, 501, "NotImplemented"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := serve(s, c.req)
			if w.Code != c.status || !strings.Contains(w.Body.String(), c.code) {
				t.Fatalf("status %d body %s, want %d %s", w.Code, w.Body.String(), c.status, c.code)
			}
		})
	}
}
