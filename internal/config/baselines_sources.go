package config

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Baseline source kinds beyond the local directory (collectors/baselines).
const (
	BaselineKindS3           = "s3"
	BaselineKindSSMParameter = "ssm_parameter"
	BaselineKindImageBuilder = "image_builder"
)

// remoteKinds lists the kinds defined in this file, in documentation order.
var remoteKinds = []string{BaselineKindS3, BaselineKindSSMParameter, BaselineKindImageBuilder}

// Defaults of the remote sources (applied by collectors/baselines.Build when
// a key is zero).
const (
	DefaultBaselineCacheTTL = 5 * time.Minute
	DefaultBaselineTimeout  = 10 * time.Second
	DefaultImageBuilderTag  = "Ec2ImageBuilderArn"
)

// BaselineFetch holds the keys every remote source shares.
type BaselineFetch struct {
	// CacheTTL is how long a resolved manifest (or a miss) is used without
	// asking the source again. After it, the source revalidates cheaply
	// (S3 conditional GET by ETag, SSM parameter version). Default 5m.
	CacheTTL time.Duration `yaml:"cache_ttl"`
	// Timeout bounds one resolution by this source (all its API calls for
	// one AMI). Default 10s.
	Timeout time.Duration `yaml:"timeout"`
}

// S3Baseline reads manifests from S3:
//
//   - s3:
//     uri: s3://golden-images/manifests/   # <uri><ami-id>.<ext>
//     tag: driftd:manifest                 # AMI tag holding s3://bucket/key
//     cache_ttl: 5m
//     timeout: 10s
//
// With both keys the tag is tried first. Suffixes are those of the dir
// source (.yaml .yml .json .cdx.json .spdx.json .imagebuilder.json).
type S3Baseline struct {
	URI           string `yaml:"uri"`
	Tag           string `yaml:"tag"`
	BaselineFetch `yaml:",inline"`
}

// SSMParameterBaseline reads a parameter per AMI from Parameter Store:
//
//   - ssm_parameter:
//     name: /golden/{ami_id}/manifest   # also {ami_name}
//     with_decryption: false            # SecureString parameters
//
// The value is a manifest (native YAML/JSON, CycloneDX, SPDX) or an s3://
// URI of one.
type SSMParameterBaseline struct {
	Name           string `yaml:"name"`
	WithDecryption bool   `yaml:"with_decryption"`
	BaselineFetch  `yaml:",inline"`
}

// ImageBuilderBaseline lists the packages of the EC2 Image Builder image
// that produced the AMI (ListImagePackages), found through the AMI tag Tag
// (default Ec2ImageBuilderArn, set by Image Builder itself).
type ImageBuilderBaseline struct {
	Tag string `yaml:"tag"`
	// PackageFormat (rpm or deb) selects the version ordering of the listed
	// packages; Image Builder does not say. Default: generic ordering.
	PackageFormat string `yaml:"package_format"`
	BaselineFetch `yaml:",inline"`
}

func (s BaselineSource) sourceKinds() []string {
	var k []string
	if s.S3 != nil {
		k = append(k, BaselineKindS3)
	}
	if s.SSMParameter != nil {
		k = append(k, BaselineKindSSMParameter)
	}
	if s.ImageBuilder != nil {
		k = append(k, BaselineKindImageBuilder)
	}
	return k
}

func (s BaselineSource) validateSources(key string) []error {
	var errs []error
	if s.S3 != nil {
		errs = append(errs, s.S3.validate(key+".s3")...)
	}
	if s.SSMParameter != nil {
		errs = append(errs, s.SSMParameter.validate(key+".ssm_parameter")...)
	}
	if s.ImageBuilder != nil {
		errs = append(errs, s.ImageBuilder.validate(key+".image_builder")...)
	}
	return errs
}

func (f BaselineFetch) validate(key string) []error {
	var errs []error
	if f.CacheTTL < 0 {
		errs = append(errs, fmt.Errorf("%s.cache_ttl: %s must not be negative", key, f.CacheTTL))
	}
	if f.Timeout < 0 {
		errs = append(errs, fmt.Errorf("%s.timeout: %s must not be negative", key, f.Timeout))
	}
	return errs
}

var (
	bucketRe   = regexp.MustCompile(`^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$`)
	tagKeyRe   = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$`)
	ssmNameRe  = regexp.MustCompile(`^[a-zA-Z0-9_.\-/{}]+$`)
	placeRe    = regexp.MustCompile(`\{[^}]*\}`)
	knownPlace = map[string]bool{"{ami_id}": true, "{ami_name}": true}
)

// checkS3URI validates s3://bucket[/prefix]; key says whether a key (not
// just a bucket) is required.
func checkS3URI(raw string, needKey bool) error {
	uri := RedactURL(raw) // quoted in errors
	rest, ok := strings.CutPrefix(raw, "s3://")
	if !ok {
		return fmt.Errorf("%q is not an s3://bucket/prefix URI", uri)
	}
	bucket, obj, _ := strings.Cut(rest, "/")
	if !bucketRe.MatchString(bucket) {
		shown, _, _ := strings.Cut(strings.TrimPrefix(uri, "s3://"), "/")
		return fmt.Errorf("%q: bucket %q is not a valid S3 bucket name", uri, shown)
	}
	if needKey && obj == "" {
		return fmt.Errorf("%q has no object key", uri)
	}
	if len(obj) > 1024 {
		return fmt.Errorf("%q: key longer than 1024 bytes", uri)
	}
	return nil
}

func (s *S3Baseline) validate(key string) []error {
	errs := s.BaselineFetch.validate(key)
	if s.URI == "" && s.Tag == "" {
		errs = append(errs, fmt.Errorf("%s: set uri (s3://bucket/prefix/), tag (an AMI tag key holding s3://bucket/key) or both", key))
	}
	if s.URI != "" {
		if err := checkS3URI(s.URI, false); err != nil {
			errs = append(errs, fmt.Errorf("%s.uri: %v", key, err))
		}
	}
	if s.Tag != "" && !tagKeyRe.MatchString(s.Tag) {
		errs = append(errs, fmt.Errorf("%s.tag: %q is not a valid tag key", key, s.Tag))
	}
	return errs
}

func (p *SSMParameterBaseline) validate(key string) []error {
	errs := p.BaselineFetch.validate(key)
	switch {
	case p.Name == "":
		errs = append(errs, fmt.Errorf("%s.name: required (e.g. /golden/{ami_id}/manifest)", key))
	case !ssmNameRe.MatchString(p.Name):
		errs = append(errs, fmt.Errorf("%s.name: %q may only contain letters, digits, '_', '.', '-', '/' and {placeholders}", key, p.Name))
	default:
		found := false
		for _, ph := range placeRe.FindAllString(p.Name, -1) {
			if !knownPlace[ph] {
				errs = append(errs, fmt.Errorf("%s.name: unknown placeholder %s (use {ami_id} or {ami_name})", key, ph))
			}
			found = true
		}
		if !found {
			errs = append(errs, fmt.Errorf("%s.name: %q must contain {ami_id} or {ami_name}", key, p.Name))
		}
		if strings.Count(p.Name, "{") != strings.Count(p.Name, "}") || strings.Count(p.Name, "{") != len(placeRe.FindAllString(p.Name, -1)) {
			errs = append(errs, fmt.Errorf("%s.name: %q has unbalanced braces", key, p.Name))
		}
	}
	return errs
}

func (b *ImageBuilderBaseline) validate(key string) []error {
	errs := b.BaselineFetch.validate(key)
	if b.Tag != "" && !tagKeyRe.MatchString(b.Tag) {
		errs = append(errs, fmt.Errorf("%s.tag: %q is not a valid tag key", key, b.Tag))
	}
	switch b.PackageFormat {
	case "", "rpm", "deb", "windows":
	default:
		errs = append(errs, fmt.Errorf("%s.package_format: %q is not rpm, deb or windows", key, b.PackageFormat))
	}
	return errs
}
