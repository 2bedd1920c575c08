// Package baselines resolves AMI baseline manifests from where golden images
// are made: S3 objects (named after the AMI or by an AMI tag), SSM Parameter
// Store parameters (inline manifests or s3:// pointers) and EC2 Image Builder
// package lists. Each source implements collectors.BaselineSource, caches per
// AMI id with a TTL and revalidates cheaply (S3 ETag, parameter version), so
// a changed baseline is picked up without a restart and an unchanged one
// costs at most one small call per TTL.
//
// Every document goes through drift/manifest (strict decoding, limits,
// re-normalisation of manifests recorded with an older normalization
// version). Build turns the `baselines:` configuration into the ordered
// source list, dir sources included.
package baselines

import (
	"context"
	"net"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// S3API is the subset of the S3 client the baseline sources use.
type S3API interface {
	GetObject(ctx context.Context, params *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	ListObjectsV2(ctx context.Context, params *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// SSMAPI is the subset of the SSM client the baseline sources use.
type SSMAPI interface {
	GetParameter(ctx context.Context, params *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// ImageBuilderAPI is the subset of the EC2 Image Builder client the baseline
// sources use.
type ImageBuilderAPI interface {
	ListImagePackages(ctx context.Context, params *imagebuilder.ListImagePackagesInput, optFns ...func(*imagebuilder.Options)) (*imagebuilder.ListImagePackagesOutput, error)
}

var (
	_ S3API           = (*s3.Client)(nil)
	_ SSMAPI          = (*ssm.Client)(nil)
	_ ImageBuilderAPI = (*imagebuilder.Client)(nil)
)

// Clients are the AWS clients the sources need. A nil client is fine as
// long as no configured source needs it (Build says which one is missing).
type Clients struct {
	S3           S3API
	SSM          SSMAPI
	ImageBuilder ImageBuilderAPI
}

// CallRateLimitExceeded is Image Builder's throttling error code (HTTP 429).
// The SDK's standard retryer treats neither the code nor the status as
// retryable.
const CallRateLimitExceeded = "CallRateLimitExceededException"

// NewImageBuilderClient returns an Image Builder client whose retryer (the
// one of cfg, e.g. the daemon's adaptive retryer) also retries
// CallRateLimitExceededException.
func NewImageBuilderClient(cfg aws.Config, optFns ...func(*imagebuilder.Options)) *imagebuilder.Client {
	fns := append([]func(*imagebuilder.Options){func(o *imagebuilder.Options) {
		if o.Retryer == nil {
			o.Retryer = retry.NewStandard()
		}
		o.Retryer = retry.AddWithErrorCodes(o.Retryer, CallRateLimitExceeded)
	}}, optFns...)
	return imagebuilder.NewFromConfig(cfg, fns...)
}

// NewS3Client returns an S3 client from cfg. Path-style addressing is used
// when the endpoint (AWS_ENDPOINT_URL[_S3]) is an IP address or localhost,
// as local emulators need.
func NewS3Client(cfg aws.Config, optFns ...func(*s3.Options)) *s3.Client {
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

// NewClients builds every client the sources may need from one SDK
// configuration (the daemon passes its loaded config, so the sources share
// its credentials, endpoints, retryer and API-call metrics middleware).
func NewClients(cfg aws.Config) Clients {
	return Clients{S3: NewS3Client(cfg), SSM: ssm.NewFromConfig(cfg), ImageBuilder: NewImageBuilderClient(cfg)}
}
