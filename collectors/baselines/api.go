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

// Clients are the AWS clients the sources need (internal/awsclients builds
// them: its Image Builder client also retries CallRateLimitExceededException,
// its S3 client uses path-style addressing for a local endpoint). A nil
// client is fine as long as no configured source needs it (Build says which
// one is missing).
type Clients struct {
	S3           S3API
	SSM          SSMAPI
	ImageBuilder ImageBuilderAPI
}
