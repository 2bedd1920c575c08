package collectors

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/aws/smithy-go"
)

type netErr struct{ timeout bool }

func (e netErr) Error() string   { return "net" }
func (e netErr) Timeout() bool   { return e.timeout }
func (e netErr) Temporary() bool { return false }

var _ net.Error = netErr{}

func TestReason(t *testing.T) {
	api := func(code string) error { return &smithy.GenericAPIError{Code: code, Message: "m"} }
	tests := []struct {
		err  error
		want string
	}{
		{api("ThrottlingException"), ReasonThrottled},
		{api("RequestLimitExceeded"), ReasonThrottled},
		{api("Throttling"), ReasonThrottled},
		{api("InternalServerError"), ReasonServerError},
		{api("AccessDeniedException"), ReasonAccessDenied},
		{api("UnauthorizedOperation"), ReasonAccessDenied},
		{api("InvalidInstanceId"), ReasonClientError},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), ReasonTimeout},
		{context.Canceled, ReasonCanceled},
		{&smithy.DeserializationError{Err: errors.New("unexpected EOF")}, ReasonBadResponse},
		{netErr{timeout: true}, ReasonTimeout},
		{netErr{}, ReasonNetwork},
		{&InconsistentError{"x"}, ReasonInconsistent},
		{errors.New("retry quota exceeded, 0 available"), ReasonThrottled},
		{errors.New("something else"), ReasonOther},
	}
	for _, tt := range tests {
		if got := Reason(tt.err); got != tt.want {
			t.Errorf("Reason(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
	if Reason(nil) != "" || ErrorCode(api("X")) != "X" || ErrorCode(errors.New("x")) != "" {
		t.Error("nil / ErrorCode")
	}
}

func FuzzParseCaptureTime(f *testing.F) {
	for _, s := range []string{"2024-05-01T12:00:00Z", "2024-05-01T12:00:00+02:00", "", "2024-13-01T00:00:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseCaptureTime(s)
		if err == nil && tm.Location().String() != "UTC" {
			t.Fatalf("%q parsed to a non-UTC time", s)
		}
	})
}
