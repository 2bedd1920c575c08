package baselines

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/drift/manifest"
)

// SSMSource reads a Parameter Store parameter per AMI, named by a template
// ({ami_id}, {ami_name}). The value is an inline manifest (native YAML or
// JSON, CycloneDX, SPDX) or an s3:// URI of one, read through the S3 logic
// (conditional GET by ETag). After the TTL the parameter is read again
// (one GetParameter): an unchanged Version keeps the parsed manifest.
type SSMSource struct {
	base
	api      SSMAPI
	rd       *s3Reader
	template string
	decrypt  bool
}

// NewSSMSource returns a parameter source. s3api may be nil when no
// parameter points to S3 (such a parameter then fails with a clear error).
func NewSSMSource(name string, api SSMAPI, s3api S3API, template string, withDecryption bool, opts Options) (*SSMSource, error) {
	if api == nil {
		return nil, fmt.Errorf("baseline source %s: no SSM client", name)
	}
	if !strings.Contains(template, "{ami_id}") && !strings.Contains(template, "{ami_name}") {
		return nil, fmt.Errorf("baseline source %s: parameter name %q has no {ami_id} or {ami_name}", name, template)
	}
	opts.defaults()
	s := &SSMSource{base: base{name: name, opts: opts}, api: api, template: template, decrypt: withDecryption}
	if s3api != nil {
		s.rd = &s3Reader{s3api}
	}
	return s, nil
}

var paramNameRe = regexp.MustCompile(`^[a-zA-Z0-9_.\-/]+$`)

// ParameterName expands the template for an AMI.
func (s *SSMSource) ParameterName(ami collectors.AMIInfo) (string, error) {
	if strings.Contains(s.template, "{ami_name}") && ami.Name == "" {
		return "", fmt.Errorf("the AMI name of %s is unknown (template %s)", ami.ID, s.template)
	}
	n := strings.NewReplacer("{ami_id}", ami.ID, "{ami_name}", ami.Name).Replace(s.template)
	if len(n) > 2011 || !paramNameRe.MatchString(n) {
		return "", fmt.Errorf("%q is not a valid parameter name (template %s)", n, s.template)
	}
	return n, nil
}

// Resolve implements collectors.BaselineSource.
func (s *SSMSource) Resolve(ctx context.Context, ami collectors.AMIInfo) (*drift.Manifest, collectors.Resolution, error) {
	return s.cachedResolve(ctx, ami, s.resolve)
}

func (s *SSMSource) resolve(ctx context.Context, e *entry, ami collectors.AMIInfo, now time.Time) {
	name, err := s.ParameterName(ami)
	if err != nil {
		e.set(now, nil, collectors.Resolution{}, missing("%s", err))
		return
	}
	where := "ssm:" + name
	out, err := s.api.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(s.decrypt)})
	if err != nil {
		if collectors.ErrorCode(err) == "ParameterNotFound" {
			e.where, e.version, e.pointer = "", 0, ""
			e.set(now, nil, collectors.Resolution{}, missing("%s: ParameterNotFound", where))
			return
		}
		werr := s.apiError(ctx, where, err)
		if transient(err) && s.fallback(e, now, where, werr) {
			return
		}
		e.set(now, nil, collectors.Resolution{}, werr)
		return
	}
	p := out.Parameter
	if p == nil {
		e.set(now, nil, collectors.Resolution{}, fmt.Errorf("%s: GetParameter returned no parameter", where))
		return
	}
	version := p.Version
	sameParam := e.where == where && e.version == version && version != 0
	if sameParam && e.pointer == "" {
		// unchanged inline value: keep whatever it gave (manifest or error)
		e.checked, e.valid = now, true
		return
	}
	kind, loc, err := SniffParameterValue(aws.ToString(p.Value))
	if err != nil {
		s.reject(e, now, where, version, "", fmt.Errorf("%s (version %d): %w", where, version, err))
		return
	}
	ver := "v" + strconv.FormatInt(version, 10)
	if kind == ValueManifest {
		m, derr := decode(where, []byte(aws.ToString(p.Value)), ami, manifest.Options{})
		if derr != nil {
			s.reject(e, now, where, version, "", fmt.Errorf("%s (version %d): %s", where, version, strings.TrimPrefix(derr.Error(), where+": ")))
			return
		}
		e.where, e.version, e.pointer, e.etag = where, version, "", ""
		e.set(now, m, collectors.Resolution{Where: where, Version: ver}, nil)
		return
	}
	s.resolvePointer(ctx, e, ami, now, where, version, loc, sameParam)
}

// reject records a document that cannot be used: the previous good manifest
// is kept when there is one, else the error is the answer.
func (s *SSMSource) reject(e *entry, now time.Time, where string, version int64, pointer string, err error) {
	e.where, e.version, e.pointer = where, version, pointer
	if !s.fallback(e, now, where, err) {
		e.set(now, nil, collectors.Resolution{}, err)
	}
}

// resolvePointer follows a parameter value that is an s3:// pointer: a
// conditional GET when the parameter version and pointer are unchanged, the
// previous good manifest on a transient failure.
func (s *SSMSource) resolvePointer(ctx context.Context, e *entry, ami collectors.AMIInfo, now time.Time, where string, version int64, loc S3Location, sameParam bool) {
	ver := "v" + strconv.FormatInt(version, 10)
	uri := loc.String()
	if s.rd == nil {
		s.reject(e, now, where, version, uri, fmt.Errorf("%s (version %d): value is %s but no S3 client is configured", where, version, uri))
		return
	}
	etag := ""
	if sameParam && e.pointer == uri {
		etag = e.etag
	}
	obj, err := s.rd.read(ctx, loc, etag)
	switch {
	case err == nil && obj.notModified:
		e.checked, e.valid = now, true
		return
	case err != nil:
		werr := s.apiError(ctx, fmt.Sprintf("%s (version %d) -> %s", where, version, uri), err)
		if transient(err) && s.fallback(e, now, where, werr) {
			return
		}
		e.where, e.version, e.pointer, e.etag = "", 0, "", ""
		e.set(now, nil, collectors.Resolution{}, werr)
		return
	}
	e.where, e.version, e.pointer, e.etag = where, version, uri, obj.etag
	m, derr := decode(uri, obj.data, ami, manifest.Options{})
	if derr != nil {
		s.reject(e, now, where, version, uri, fmt.Errorf("%s (version %d) -> %s (etag %s): %s", where, version, uri, obj.etag, strings.TrimPrefix(derr.Error(), uri+": ")))
		return
	}
	e.set(now, m, collectors.Resolution{Where: where + " -> " + uri, Version: ver + "/" + obj.etag}, nil)
}
