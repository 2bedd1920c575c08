package awssim

import (
	"bytes"
	"net/http"
	"net/url"
	"testing"

	"github.com/driftd/driftd/awssim/wire"
)

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
