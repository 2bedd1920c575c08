package collectors

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Error reasons: a small fixed set, used as the `reason` label of
// driftd_collector_errors_total.
const (
	ReasonThrottled    = "throttled"
	ReasonServerError  = "server_error"
	ReasonTimeout      = "timeout"
	ReasonCanceled     = "canceled"
	ReasonAccessDenied = "access_denied"
	ReasonClientError  = "client_error"
	ReasonBadResponse  = "bad_response"
	ReasonNetwork      = "network"
	ReasonInconsistent = "inconsistent"
	ReasonOther        = "other"
	// ReasonDiscoveryFail counts instances left unknown because a discovery
	// step (Auto Scaling, SSM agents) failed.
	ReasonDiscoveryFail = "discovery_failed"
)

// Reasons lists every reason (for pre-initialising counters).
var Reasons = []string{ReasonThrottled, ReasonServerError, ReasonTimeout, ReasonCanceled, ReasonAccessDenied,
	ReasonClientError, ReasonBadResponse, ReasonNetwork, ReasonInconsistent, ReasonOther}

var throttleCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true, "RequestThrottledException": true,
	"TooManyRequestsException": true, "RequestLimitExceeded": true, "RequestThrottled": true, "SlowDown": true,
	"EC2ThrottledException": true, "CallRateLimitExceededException": true, "LimitExceededException": true,
}

// ErrorCode returns the AWS error code of err, or "" when it carries none.
func ErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// Reason classifies an error into one of the fixed reasons.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	var ie *InconsistentError
	if errors.As(err, &ie) {
		return ReasonInconsistent
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ReasonTimeout
	}
	if errors.Is(err, context.Canceled) {
		return ReasonCanceled
	}
	code := ErrorCode(err)
	switch {
	case throttleCodes[code]:
		return ReasonThrottled
	case code == "InternalServerError" || code == "InternalError" || code == "ServiceUnavailable" || code == "InternalFailure" || code == "ResourceContention":
		return ReasonServerError
	case code == "AccessDenied" || code == "AccessDeniedException" || code == "UnauthorizedOperation" || code == "UnrecognizedClientException" || code == "AuthFailure":
		return ReasonAccessDenied
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return ReasonServerError
	}
	if code != "" {
		return ReasonClientError
	}
	var de *smithy.DeserializationError
	if errors.As(err, &de) {
		return ReasonBadResponse
	}
	var ne net.Error
	if errors.As(err, &ne) {
		if ne.Timeout() {
			return ReasonTimeout
		}
		return ReasonNetwork
	}
	if strings.Contains(err.Error(), "deserialization failed") || strings.Contains(err.Error(), "unexpected EOF") {
		return ReasonBadResponse
	}
	if strings.Contains(err.Error(), "retry quota exceeded") {
		return ReasonThrottled
	}
	return ReasonOther
}

// InconsistentError reports data that cannot be trusted: a page that did not
// advance, a capture time changing between pages, too many pages.
type InconsistentError struct{ Msg string }

func (e *InconsistentError) Error() string { return e.Msg }

// IsThrottleCode reports whether an AWS error code means the request was
// throttled.
func IsThrottleCode(code string) bool { return throttleCodes[code] }
