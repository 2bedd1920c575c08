package daemon

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/driftd/driftd/internal/sdkhttp"
	"github.com/driftd/driftd/scan"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmw "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"

	"github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/internal/config"
)

// Clients are the AWS clients of one configuration.
type Clients struct {
	EC2         collectors.EC2API
	AutoScaling collectors.AutoScalingAPI
	SSM         collectors.SSMAPI
	// AWS is the loaded SDK configuration (region, credentials, endpoint),
	// for other engines to build their own clients with the same middleware.
	AWS aws.Config
}

// apiCalls counts API call attempts by service/operation/code, for the
// per-scan summary (the Prometheus counter is cumulative).
type apiCalls struct {
	mu sync.Mutex
	n  map[callKey]int
}

type callKey struct{ Service, Operation, Code string }

func (c *apiCalls) add(k callKey) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[callKey]int{}
	}
	c.n[k]++
	c.mu.Unlock()
}

func (c *apiCalls) snapshot() map[callKey]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[callKey]int, len(c.n))
	for k, v := range c.n {
		m[k] = v
	}
	return m
}

func diffCalls(before, after map[callKey]int) scan.APICallStats {
	s := scan.APICallStats{ByOperation: map[string]int{}}
	for k, v := range after {
		d := v - before[k]
		if d <= 0 {
			continue
		}
		s.Total += d
		s.ByOperation[k.Service+":"+k.Operation] += d
		if k.Code != "OK" {
			if s.Errors == nil {
				s.Errors = map[string]int{}
			}
			s.Errors[k.Service+":"+k.Operation+":"+k.Code] += d
		}
	}
	return s
}

// limiters holds the client-side rate limiters per service ("ssm") and per
// operation ("ssm:ListInventoryEntries"); limits can be changed on reload
// without rebuilding clients.
type limiters struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

func (l *limiters) set(limits map[string]float64) {
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
		burst := int(r)
		if burst < 1 {
			burst = 1
		}
		if lim, ok := l.m[svc]; ok {
			lim.SetLimit(rate.Limit(r))
			lim.SetBurst(burst)
		} else {
			l.m[svc] = rate.NewLimiter(rate.Limit(r), burst)
		}
	}
}

func (l *limiters) get(svc string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m[svc]
}

// serviceKey maps an SDK service id to the rate_limits / metric label.
func serviceKey(id string) string {
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

// callMiddleware runs once per attempt (it sits after the retry middleware):
// it waits for the service's client-side rate limiter, then counts the
// attempt by its result code.
type callMiddleware struct {
	lim     *limiters
	count   func(service, operation, code string)
	metrics func(service, operation, code string)
}

func (callMiddleware) ID() string { return "driftd/APICallAttempt" }

func (m callMiddleware) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	svc := serviceKey(awsmw.GetServiceID(ctx))
	op := awsmw.GetOperationName(ctx)
	for _, key := range [2]string{svc + ":" + op, svc} {
		l := m.lim.get(key)
		if l == nil {
			continue
		}
		if err := l.Wait(ctx); err != nil {
			// Not an API call: nothing is counted. Waiting would outlast the
			// scan's deadline (or it was cancelled).
			if cerr := ctx.Err(); cerr != nil {
				err = cerr
			} else {
				err = context.DeadlineExceeded
			}
			return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("client-side rate limit %s: no request slot before the scan deadline: %w", key, err)
		}
	}
	out, md, err := next.HandleFinalize(ctx, in)
	code := "OK"
	if err != nil {
		code = collectors.ErrorCode(err)
		if code == "" {
			switch collectors.Reason(err) {
			case collectors.ReasonTimeout:
				code = "Timeout"
			case collectors.ReasonCanceled:
				code = "Canceled"
			case collectors.ReasonBadResponse:
				code = "BadResponse"
			case collectors.ReasonServerError:
				code = "ServerError"
			default:
				code = "NetworkError"
			}
		}
	}
	m.count(svc, op, code)
	return out, md, err
}

// loadAWS loads the SDK configuration with the standard chain (env,
// profile, AWS_ENDPOINT_URL[_<SERVICE>], IMDS), adaptive retries and the
// per-attempt middleware. base, when non-nil, replaces the standard chain
// (tests and the demo pass static credentials and an endpoint this way).
func loadAWS(ctx context.Context, c config.AWS, base *aws.Config, mw callMiddleware) (Clients, error) {
	std := func(so *retry.StandardOptions) {
		so.MaxAttempts = c.MaxAttempts
		so.MaxBackoff = c.MaxBackoff
	}
	retryer := func() aws.Retryer {
		if c.RetryMode == "standard" {
			return retry.NewStandard(std)
		}
		return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
			o.StandardOptions = append(o.StandardOptions, std)
		})
	}
	var cfg aws.Config
	if base != nil {
		cfg = base.Copy()
		if c.Region != "" {
			cfg.Region = c.Region
		}
		cfg.Retryer = retryer
	} else {
		opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRetryer(retryer)}
		if c.Region != "" {
			opts = append(opts, awsconfig.WithRegion(c.Region))
		}
		var err error
		cfg, err = awsconfig.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return Clients{}, fmt.Errorf("loading AWS configuration: %w", err)
		}
	}
	if cfg.Region == "" {
		return Clients{}, fmt.Errorf("no AWS region: set aws.region or AWS_REGION")
	}
	cfg.HTTPClient = wrapHTTPClient(cfg.HTTPClient)
	cfg.APIOptions = append(cfg.APIOptions, func(s *middleware.Stack) error {
		return s.Finalize.Insert(mw, "Retry", middleware.After)
	})
	return Clients{
		EC2:         ec2.NewFromConfig(cfg),
		AutoScaling: autoscaling.NewFromConfig(cfg),
		SSM:         ssm.NewFromConfig(cfg),
		AWS:         cfg,
	}, nil
}

// wrapHTTPClient applies the sdkhttp transport fix (see internal/sdkhttp)
// to the SDK's HTTP client. The client LoadDefaultConfig builds carries the
// TLS settings of AWS_CA_BUNDLE in its transport, so its transport is
// wrapped rather than replaced; a caller-supplied client of another kind is
// left as it is.
func wrapHTTPClient(c aws.HTTPClient) aws.HTTPClient {
	switch hc := c.(type) {
	case nil:
		return &http.Client{Transport: sdkhttp.Transport(awshttp.NewBuildableClient().GetTransport())}
	case *awshttp.BuildableClient:
		return &http.Client{Transport: sdkhttp.Transport(hc.GetTransport()), Timeout: hc.GetTimeout()}
	default:
		return c
	}
}
