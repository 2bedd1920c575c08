// Package awsclients builds driftd's aws-sdk-go-v2 clients, in one place for
// the daemon and the CLI's baseline commands: the SDK's standard
// configuration (credentials chain, AWS_PROFILE, AWS_REGION,
// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>), the configured retries,
// the transport fix of internal/sdkhttp and, for the daemon, a per-attempt
// middleware (client-side rate limits, API-call accounting). From one
// loaded configuration, New builds every client driftd uses; the daemon
// does so once per configuration generation and hands them to discovery,
// inventory, baseline sources, notification sinks and remediation.
package awsclients

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go/middleware"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/sdkhttp"
)

// Options configure Load.
type Options struct {
	// AWS is the configuration's aws section: region (overrides AWS_REGION
	// and the profile's), retry mode, attempts and backoff. Its zero value
	// keeps the SDK's own retryer.
	AWS config.AWS
	// Base, when set, replaces the SDK's default configuration chain
	// (tests and the demo pass static credentials and an endpoint this
	// way); the region, retries, transport and middleware still apply.
	Base *aws.Config
	// Attempts, when set, runs once per API call attempt (see Attempts).
	Attempts *Attempts
}

// ErrNoRegion is returned when neither the configuration nor the SDK's
// chain names a region.
var ErrNoRegion = errors.New("no AWS region: set aws.region or AWS_REGION")

// Load loads the SDK configuration: the standard chain (env, profile,
// AWS_ENDPOINT_URL[_<SERVICE>], IMDS) unless o.Base replaces it, the
// configured retryer, the sdkhttp transport and the per-attempt
// middleware.
func Load(ctx context.Context, o Options) (aws.Config, error) {
	retryer := retryerFor(o.AWS)
	var cfg aws.Config
	if o.Base != nil {
		cfg = o.Base.Copy()
		if o.AWS.Region != "" {
			cfg.Region = o.AWS.Region
		}
		if retryer != nil {
			cfg.Retryer = retryer
		}
	} else {
		var opts []func(*awsconfig.LoadOptions) error
		if retryer != nil {
			opts = append(opts, awsconfig.WithRetryer(retryer))
		}
		if o.AWS.Region != "" {
			opts = append(opts, awsconfig.WithRegion(o.AWS.Region))
		}
		var err error
		cfg, err = awsconfig.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
		}
	}
	if cfg.Region == "" {
		return aws.Config{}, ErrNoRegion
	}
	cfg.HTTPClient = wrapHTTPClient(cfg.HTTPClient)
	if o.Attempts != nil {
		mw := *o.Attempts
		cfg.APIOptions = append(cfg.APIOptions, func(s *middleware.Stack) error {
			return s.Finalize.Insert(mw, "Retry", middleware.After)
		})
	}
	return cfg, nil
}

// retryerFor is the configured retryer: adaptive (standard retries plus
// client-side rate reduction after throttling) or standard, with the
// configured attempts and backoff cap; nil for a zero section (the SDK's
// default).
func retryerFor(c config.AWS) func() aws.Retryer {
	if c.RetryMode == "" && c.MaxAttempts == 0 && c.MaxBackoff == 0 {
		return nil
	}
	std := func(so *retry.StandardOptions) {
		if c.MaxAttempts > 0 {
			so.MaxAttempts = c.MaxAttempts
		}
		if c.MaxBackoff > 0 {
			so.MaxBackoff = c.MaxBackoff
		}
	}
	return func() aws.Retryer {
		if c.RetryMode == "standard" {
			return retry.NewStandard(std)
		}
		return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
			o.StandardOptions = append(o.StandardOptions, std)
		})
	}
}

// wrapHTTPClient applies the sdkhttp transport fix to the SDK's HTTP
// client. The client LoadDefaultConfig builds carries the TLS settings of
// AWS_CA_BUNDLE in its transport, so its transport is wrapped rather than
// replaced; a caller-supplied client of another kind is left as it is.
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

// Clients are every AWS client driftd uses, built from one SDK
// configuration. Each consumer takes the few calls it needs through its own
// narrow <Service>API interface (collectors, baselines, alerting,
// remediation), which these clients satisfy.
type Clients struct {
	// AWS is the configuration they were built from.
	AWS          aws.Config
	EC2          *ec2.Client
	AutoScaling  *autoscaling.Client
	SSM          *ssm.Client
	S3           *s3.Client
	SQS          *sqs.Client
	SNS          *sns.Client
	EventBridge  *eventbridge.Client
	ImageBuilder *imagebuilder.Client
	SecurityHub  *securityhub.Client
	Config       *configservice.Client
	DynamoDB     *dynamodb.Client // the HA table (lease, decisions, audit log)
}

// New builds the clients from cfg (no AWS call is made).
func New(cfg aws.Config) *Clients {
	return &Clients{
		AWS:          cfg,
		EC2:          ec2.NewFromConfig(cfg),
		AutoScaling:  autoscaling.NewFromConfig(cfg),
		SSM:          ssm.NewFromConfig(cfg),
		S3:           NewS3(cfg),
		SQS:          sqs.NewFromConfig(cfg),
		SNS:          sns.NewFromConfig(cfg),
		EventBridge:  eventbridge.NewFromConfig(cfg),
		ImageBuilder: NewImageBuilder(cfg),
		SecurityHub:  securityhub.NewFromConfig(cfg),
		Config:       configservice.NewFromConfig(cfg),
		DynamoDB:     dynamodb.NewFromConfig(cfg),
	}
}

// NewS3 returns an S3 client from cfg. Path-style addressing is used when
// the endpoint (AWS_ENDPOINT_URL[_S3], or the configuration's) is an IP
// address or localhost, as local emulators need.
func NewS3(cfg aws.Config, optFns ...func(*s3.Options)) *s3.Client {
	fns := append([]func(*s3.Options){func(o *s3.Options) {
		if o.BaseEndpoint == nil {
			return
		}
		u, err := url.Parse(*o.BaseEndpoint)
		if err != nil {
			return
		}
		if h := u.Hostname(); h == "localhost" || net.ParseIP(h) != nil {
			o.UsePathStyle = true
		}
	}}, optFns...)
	return s3.NewFromConfig(cfg, fns...)
}

// CallRateLimitExceeded is Image Builder's throttling error code (HTTP 429).
// The SDK's standard retryer treats neither the code nor the status as
// retryable.
const CallRateLimitExceeded = "CallRateLimitExceededException"

// NewImageBuilder returns an Image Builder client whose retryer (the one
// of cfg, e.g. the daemon's adaptive retryer) also retries
// CallRateLimitExceededException.
func NewImageBuilder(cfg aws.Config, optFns ...func(*imagebuilder.Options)) *imagebuilder.Client {
	fns := append([]func(*imagebuilder.Options){func(o *imagebuilder.Options) {
		if o.Retryer == nil {
			o.Retryer = retry.NewStandard()
		}
		o.Retryer = retry.AddWithErrorCodes(o.Retryer, CallRateLimitExceeded)
	}}, optFns...)
	return imagebuilder.NewFromConfig(cfg, fns...)
}
