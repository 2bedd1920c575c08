package awsclients

import (
	"context"
	"fmt"
	"sync"
	"time"

	awsmw "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"

	"github.com/driftd/driftd/collectors"
)

// Limiters holds the client-side rate limiters per service ("ssm") and per
// operation ("ssm:ListInventoryEntries"). Limits can be changed (on a
// configuration reload) without rebuilding clients: every generation's
// clients share one Limiters.
type Limiters struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

// Set replaces the limits (requests per second, burst the integer part,
// at least 1); keys not in limits lose their limiter.
func (l *Limiters) Set(limits map[string]float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*rate.Limiter{}
	}
	for key := range l.m {
		if _, ok := limits[key]; !ok {
			delete(l.m, key)
		}
	}
	for svc, r := range limits {
		burst := max(int(r), 1)
		if lim, ok := l.m[svc]; ok {
			lim.SetLimit(rate.Limit(r))
			lim.SetBurst(burst)
		} else {
			l.m[svc] = rate.NewLimiter(rate.Limit(r), burst)
		}
	}
}

// Get returns the limiter of a service or "service:Operation" key (nil:
// none).
func (l *Limiters) Get(key string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m[key]
}

// ServiceKey maps an SDK service id to the rate_limits key and the
// service label of driftd_aws_api_calls_total ("Auto Scaling" →
// "autoscaling").
func ServiceKey(id string) string {
	switch id {
	case "EC2":
		return "ec2"
	case "SSM":
		return "ssm"
	case "Auto Scaling":
		return "autoscaling"
	}
	b := []byte(id)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		} else if c == ' ' {
			b[i] = '_'
		}
	}
	return string(b)
}

// Attempts is a finalize middleware that runs once per attempt (it sits
// after the retry middleware): it waits for the service's and the
// operation's client-side rate limiter, then reports the attempt with its
// result code ("OK", the AWS error code, or Timeout, Canceled, BadResponse,
// ServerError, NetworkError when there was no AWS answer).
type Attempts struct {
	Limits *Limiters // nil: no client-side limits
	// Count is called once per attempt made (nil: not reported).
	Count func(service, operation, code string)
	// Waited is called with the time an attempt waited for its rate
	// limiters' slots, when it waited at all (nil: not reported).
	Waited func(service, operation string, waited time.Duration)
}

// ID implements middleware.FinalizeMiddleware.
func (Attempts) ID() string { return "driftd/APICallAttempt" }

// HandleFinalize implements middleware.FinalizeMiddleware.
func (m Attempts) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	svc := ServiceKey(awsmw.GetServiceID(ctx))
	op := awsmw.GetOperationName(ctx)
	if err := m.wait(ctx, svc, op); err != nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, err
	}
	out, md, err := next.HandleFinalize(ctx, in)
	if m.Count != nil {
		m.Count(svc, op, resultCode(err))
	}
	return out, md, err
}

// minReportedWait is the shortest limiter wait reported to Waited: taking
// a slot that is free costs microseconds, which is no wait.
const minReportedWait = time.Millisecond

// wait takes a request slot of the operation's and the service's limiter.
// Failing to get one is not an API call: nothing is counted.
func (m Attempts) wait(ctx context.Context, svc, op string) error {
	if m.Limits == nil {
		return nil
	}
	if m.Waited != nil {
		start := time.Now()
		defer func() {
			if d := time.Since(start); d >= minReportedWait {
				m.Waited(svc, op, d)
			}
		}()
	}
	for _, key := range [2]string{svc + ":" + op, svc} {
		l := m.Limits.Get(key)
		if l == nil {
			continue
		}
		if err := l.Wait(ctx); err != nil {
			// Waiting would outlast the scan's deadline (or it was cancelled).
			if cerr := ctx.Err(); cerr != nil {
				err = cerr
			} else {
				err = context.DeadlineExceeded
			}
			return fmt.Errorf("client-side rate limit %s: no request slot before the scan deadline: %w", key, err)
		}
	}
	return nil
}

// resultCode is an attempt's result code.
func resultCode(err error) string {
	if err == nil {
		return "OK"
	}
	if code := collectors.ErrorCode(err); code != "" {
		return code
	}
	switch collectors.Reason(err) {
	case collectors.ReasonTimeout:
		return "Timeout"
	case collectors.ReasonCanceled:
		return "Canceled"
	case collectors.ReasonBadResponse:
		return "BadResponse"
	case collectors.ReasonServerError:
		return "ServerError"
	}
	return "NetworkError"
}
