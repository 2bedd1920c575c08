package alerting

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func awsResponseError(status int, err error) error {
	return &smithy.OperationError{ServiceID: "SNS", OperationName: "Publish", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err},
	}}
}

func TestReasonOf(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want Reason
	}{
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), ReasonTimeout},
		{"url timeout", &url.Error{Op: "Post", URL: "http://h/secret", Err: os.ErrDeadlineExceeded}, ReasonTimeout},
		{"connection refused", &url.Error{Op: "Post", URL: "http://h", Err: &net.OpError{Op: "dial", Err: errors.New("refused")}}, ReasonNetwork},
		{"eof", fmt.Errorf("read: %w", io.EOF), ReasonNetwork},
		{"sdk send failure (status 0)", awsResponseError(0, &url.Error{Op: "Post", URL: "http://h", Err: io.EOF}), ReasonNetwork},
		{"sdk throttling code", &smithy.OperationError{Err: &smithy.GenericAPIError{Code: "Throttling"}}, ReasonThrottled},
		{"sdk ThrottlingException", &smithy.GenericAPIError{Code: "ThrottlingException"}, ReasonThrottled},
		{"sdk 400", awsResponseError(400, &smithy.GenericAPIError{Code: "InvalidParameter"}), ReasonHTTP4xx},
		{"sdk 404", awsResponseError(404, &smithy.GenericAPIError{Code: "NotFound"}), ReasonHTTP4xx},
		{"sdk 503", awsResponseError(503, &smithy.GenericAPIError{Code: "ServiceUnavailable"}), ReasonHTTP5xx},
		{"sdk 429", awsResponseError(429, errors.New("slow down")), ReasonThrottled},
		{"sink error keeps its reason", &SinkError{Reason: ReasonEncode}, ReasonEncode},
		{"unknown", errors.New("boom"), ReasonOther},
	}
	for _, tc := range cases {
		if got := ReasonOf(tc.err); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	for _, r := range Reasons {
		want := r == ReasonTimeout || r == ReasonNetwork || r == ReasonHTTP5xx || r == ReasonThrottled
		if r.Retryable() != want {
			t.Errorf("%s retryable=%v", r, r.Retryable())
		}
	}
	// wrap keeps the reason and drops the URL path.
	se := newRedactor().wrap("p", &url.Error{Op: "Post", URL: "https://hooks.slack.com/services/T/B/SECRET", Err: io.EOF})
	if se.Reason != ReasonNetwork || se.Error() != "p: Post https://hooks.slack.com/<redacted>: EOF" {
		t.Errorf("wrap: %s %q", se.Reason, se.Error())
	}
}
