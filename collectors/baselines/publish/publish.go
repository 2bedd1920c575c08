// Package publish writes baseline manifests where the baseline sources read
// them: S3 objects and SSM parameters (the last step of a bake pipeline:
// launch a canary, `driftd baseline capture`, publish). It holds the write
// permissions the daemon never needs, so the daemon's IAM policy (derived
// from collectors/baselines' read interfaces) stays read-only.
package publish

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/driftd/driftd/collectors/baselines"
	"github.com/driftd/driftd/internal/config"
)

// S3API is the subset of the S3 client publishing uses.
type S3API interface {
	PutObject(ctx context.Context, params *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// SSMAPI is the subset of the SSM client publishing uses.
type SSMAPI interface {
	PutParameter(ctx context.Context, params *ssm.PutParameterInput, optFns ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
}

var (
	_ S3API  = (*s3.Client)(nil)
	_ SSMAPI = (*ssm.Client)(nil)
)

// StandardParameterLimit is the largest value of a standard-tier parameter;
// larger values (up to 8 KB) need the advanced tier.
const StandardParameterLimit = 4096

// ToS3 uploads a manifest document to s3://bucket/key and returns its ETag.
func ToS3(ctx context.Context, api S3API, uri string, doc []byte) (string, error) {
	loc, err := baselines.ParseS3URI(uri)
	if err != nil {
		return "", err
	}
	if loc.Key == "" || strings.HasSuffix(loc.Key, "/") {
		return "", fmt.Errorf("%s: names no object (add the file name, e.g. %s%s)", uri, uri, "ami-0123456789abcdef0.yaml")
	}
	ct := "application/yaml"
	if strings.HasSuffix(loc.Key, ".json") {
		ct = "application/json"
	}
	out, err := api.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(loc.Key), Body: bytes.NewReader(doc), ContentType: aws.String(ct)})
	if err != nil {
		return "", fmt.Errorf("%s: %w", uri, err)
	}
	return strings.Trim(aws.ToString(out.ETag), `"`), nil
}

// ToParameter writes value (an inline manifest or an s3:// URI) to the
// parameter, overwriting it, and returns the new version. Values above 4 KB
// use the advanced tier.
func ToParameter(ctx context.Context, api SSMAPI, name, value string) (int64, error) {
	if len(value) > baselines.MaxParameterValue {
		return 0, fmt.Errorf("ssm:%s: the manifest is %d bytes, more than a parameter holds (%d); upload it to S3 and store the s3:// URI instead", name, len(value), baselines.MaxParameterValue)
	}
	in := &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value), Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true)}
	if len(value) > StandardParameterLimit {
		in.Tier = ssmtypes.ParameterTierAdvanced
	}
	out, err := api.PutParameter(ctx, in)
	if err != nil {
		return 0, fmt.Errorf("ssm:%s: %w", name, err)
	}
	return out.Version, nil
}

// Demo locations used by SeedDemo.
const (
	DemoPrefix            = "manifests/"
	DemoReleasePrefix     = "releases/"
	DemoParameterTemplate = "/driftd-demo/{ami_id}/manifest"
)

// DemoSeed says what SeedDemo wrote and how to configure driftd for it.
type DemoSeed struct {
	// Baselines is the configuration that reads the seeded baselines: the
	// S3 source first, then the parameter source.
	Baselines  config.Baselines
	Objects    []string // s3:// URIs written
	Parameters []string // parameter names written
}

// SeedDemo publishes baseline manifests for a demo region, alternating
// between the two remote layouts so both sources answer: AMIs in sorted
// order go, one by one, to s3://bucket/manifests/<ami>.yaml and to the
// parameter /driftd-demo/<ami>/manifest (inline when it fits a standard
// parameter, else an s3:// pointer to s3://bucket/releases/<ami>.yaml).
// docs maps AMI ids to manifest documents (native YAML or JSON; the key
// suffix follows the document). The bucket must exist.
func SeedDemo(ctx context.Context, s3api S3API, ssmapi SSMAPI, bucket string, docs map[string][]byte) (*DemoSeed, error) {
	amis := make([]string, 0, len(docs))
	for a := range docs {
		amis = append(amis, a)
	}
	sort.Strings(amis)
	seed := &DemoSeed{Baselines: config.Baselines{
		{Name: "golden-s3", S3: &config.S3Baseline{URI: "s3://" + bucket + "/" + DemoPrefix}},
		{Name: "golden-params", SSMParameter: &config.SSMParameterBaseline{Name: DemoParameterTemplate}},
	}}
	for i, ami := range amis {
		doc := docs[ami]
		ext := ".yaml"
		if t := bytes.TrimSpace(doc); len(t) > 0 && t[0] == '{' {
			ext = ".json"
		}
		if i%2 == 0 {
			uri := "s3://" + bucket + "/" + DemoPrefix + ami + ext
			if _, err := ToS3(ctx, s3api, uri, doc); err != nil {
				return nil, err
			}
			seed.Objects = append(seed.Objects, uri)
			continue
		}
		name := strings.ReplaceAll(DemoParameterTemplate, "{ami_id}", ami)
		value := string(doc)
		if len(value) > StandardParameterLimit {
			uri := "s3://" + bucket + "/" + DemoReleasePrefix + ami + ext
			if _, err := ToS3(ctx, s3api, uri, doc); err != nil {
				return nil, err
			}
			seed.Objects = append(seed.Objects, uri)
			value = uri
		}
		if _, err := ToParameter(ctx, ssmapi, name, value); err != nil {
			return nil, err
		}
		seed.Parameters = append(seed.Parameters, name)
	}
	return seed, nil
}

// YAML renders the `baselines:` section for the seeded layout, for a
// configuration file or a demo banner.
func (d *DemoSeed) YAML() string {
	var b strings.Builder
	b.WriteString("baselines:\n")
	for _, s := range d.Baselines {
		fmt.Fprintf(&b, "  - name: %s\n", s.Name)
		switch {
		case s.S3 != nil:
			fmt.Fprintf(&b, "    s3:\n      uri: %s\n", s.S3.URI)
		case s.SSMParameter != nil:
			fmt.Fprintf(&b, "    ssm_parameter:\n      name: %s\n", s.SSMParameter.Name)
		}
	}
	return b.String()
}
