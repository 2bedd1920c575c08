package wire

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func post(target, ctype, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	if target != "" {
		r.Header.Set("X-Amz-Target", target)
	}
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	return r
}

func TestParse(t *testing.T) {
	cases := []struct {
		name           string
		r              *http.Request
		proto          Protocol
		svc, op, error string
	}{
		{"ssm", post("AmazonSSM.ListInventoryEntries", "application/x-amz-json-1.1", "{}"), JSON11, SvcSSM, "ListInventoryEntries", ""},
		{"sqs json", post("AmazonSQS.SendMessage", "application/x-amz-json-1.0", "{}"), JSON10, SvcSQS, "SendMessage", ""},
		{"unknown prefix", post("Nope.Op", "", "{}"), JSON11, "", "Op", "UnknownOperationException"},
		{"bad json", post("AmazonSSM.GetInventory", "", "{"), JSON11, SvcSSM, "GetInventory", "SerializationException"},
		{"ec2", post("", "application/x-www-form-urlencoded; charset=utf-8", "Action=DescribeInstances&Version=2016-11-15"), EC2Query, SvcEC2, "DescribeInstances", ""},
		{"asg", post("", "application/x-www-form-urlencoded", "Action=SetInstanceHealth&Version=2011-01-01"), AWSQuery, SvcAutoScaling, "SetInstanceHealth", ""},
		{"bad version", post("", "application/x-www-form-urlencoded", "Action=X&Version=1"), "", "", "X", "InvalidAction"},
		{"bad encoding", post("", "application/x-www-form-urlencoded", "a=%zz"), "", "", "", "MalformedQueryString"},
		{"no action", post("", "application/x-www-form-urlencoded", "Version=2011-01-01"), AWSQuery, SvcAutoScaling, "", "MissingAction"},
		{"imagebuilder", httptest.NewRequest(http.MethodPost, "/ListImagePackages", strings.NewReader("{}")), RESTJSON, SvcImageBuilder, "ListImagePackages", ""},
		{"s3", httptest.NewRequest(http.MethodGet, "/bucket/key", nil), RESTXML, SvcS3, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := Parse(c.r)
			if c.error != "" {
				if err == nil || err.Code != c.error {
					t.Fatalf("error = %v, want %s", err, c.error)
				}
			} else if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if c.proto != "" && req.Protocol != c.proto || req.Service != c.svc || req.Op != c.op {
				t.Fatalf("got %s/%s/%s", req.Protocol, req.Service, req.Op)
			}
			if req.ID == "" {
				t.Fatal("no request id")
			}
		})
	}
}

func TestWriteErrorShapes(t *testing.T) {
	cases := []struct {
		proto  Protocol
		svc    string
		status int
		ctype  string
		check  func(t *testing.T, body []byte)
	}{
		{JSON11, SvcSSM, 400, "application/x-amz-json-1.1", func(t *testing.T, b []byte) {
			var j map[string]string
			if json.Unmarshal(b, &j) != nil || j["__type"] != "ThrottlingException" || j["message"] != "Rate exceeded" {
				t.Fatalf("json body %s", b)
			}
		}},
		{EC2Query, SvcEC2, 503, "text/xml;charset=UTF-8", func(t *testing.T, b []byte) {
			var x struct {
				Code      string `xml:"Errors>Error>Code"`
				RequestID string `xml:"RequestID"`
			}
			if xml.Unmarshal(b, &x) != nil || x.Code != "ThrottlingException" || x.RequestID == "" {
				t.Fatalf("ec2 body %s", b)
			}
		}},
		{AWSQuery, SvcAutoScaling, 500, "text/xml", func(t *testing.T, b []byte) {
			var x struct {
				Type      string `xml:"Error>Type"`
				Code      string `xml:"Error>Code"`
				RequestID string `xml:"RequestId"`
			}
			if xml.Unmarshal(b, &x) != nil || x.Code != "ThrottlingException" || x.Type != "Receiver" || x.RequestID != "rid" {
				t.Fatalf("query body %s", b)
			}
		}},
	}
	for _, c := range cases {
		w := httptest.NewRecorder()
		WriteError(w, &Request{Protocol: c.proto, Service: c.svc, ID: "rid"}, Errorf(c.status, "ThrottlingException", "Rate exceeded"))
		if w.Code != c.status || w.Header().Get("Content-Type") != c.ctype {
			t.Fatalf("%s: status %d content type %q", c.proto, w.Code, w.Header().Get("Content-Type"))
		}
		c.check(t, w.Body.Bytes())
		// The SDK's JSON and awsQuery error messages read the id from the header.
		if c.proto != EC2Query && w.Header().Get("X-Amzn-Requestid") != "rid" {
			t.Errorf("%s: request id header %q", c.proto, w.Header().Get("X-Amzn-Requestid"))
		}
	}
	w := httptest.NewRecorder()
	WriteQuery(w, &Request{Protocol: AWSQuery, Service: SvcAutoScaling, Op: "SetInstanceProtection", ID: "r"}, []byte{})
	if !strings.Contains(w.Body.String(), "<SetInstanceProtectionResult></SetInstanceProtectionResult>") {
		t.Fatalf("empty result wrapper missing: %s", w.Body)
	}
	if got := CaptureTime(time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)); got != "2026-01-02T03:04:05Z" {
		t.Fatalf("CaptureTime %s", got)
	}
}

// FuzzParse feeds arbitrary targets, content types and bodies to Parse: it
// must never panic, and every failure must carry an error code.
func FuzzParse(f *testing.F) {
	f.Add("AmazonSSM.GetInventory", "application/x-amz-json-1.1", `{"MaxResults":5}`)
	f.Add("", "application/x-www-form-urlencoded", "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=x")
	f.Add("", "application/x-www-form-urlencoded", "%%%")
	f.Add("AmazonSSM", "", "")
	f.Fuzz(func(t *testing.T, target, ctype, body string) {
		req, err := Parse(post(target, ctype, body))
		if req == nil {
			t.Fatal("nil request")
		}
		if err != nil && err.Code == "" {
			t.Fatalf("error without code: %+v", err)
		}
	})
}
