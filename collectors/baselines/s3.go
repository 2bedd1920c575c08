package baselines

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/drift/manifest"
)

// s3Reader reads manifest objects, conditionally when an ETag is known.
type s3Reader struct{ api S3API }

// s3Object is one read: the bytes and ETag, or notModified.
type s3Object struct {
	data        []byte
	etag        string
	notModified bool
}

// read GETs loc. With etag set it sends If-None-Match and reports
// notModified on 304 (one small request for an unchanged object).
func (r s3Reader) read(ctx context.Context, loc S3Location, etag string) (s3Object, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(loc.Key)}
	if etag != "" {
		in.IfNoneMatch = aws.String(`"` + etag + `"`)
	}
	out, err := r.api.GetObject(ctx, in)
	if err != nil {
		if etag != "" && isNotModified(err) {
			return s3Object{notModified: true, etag: etag}, nil
		}
		return s3Object{}, err
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, manifest.MaxDocumentBytes+1))
	if err != nil {
		return s3Object{}, fmt.Errorf("reading the object body: %w", err)
	}
	if out.ContentLength != nil && *out.ContentLength != int64(len(data)) && len(data) <= manifest.MaxDocumentBytes {
		return s3Object{}, fmt.Errorf("truncated object: read %d of %d bytes", len(data), *out.ContentLength)
	}
	return s3Object{data: data, etag: strings.Trim(aws.ToString(out.ETag), `"`)}, nil
}

func isNotModified(err error) bool {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == 304 {
		return true
	}
	return collectors.ErrorCode(err) == "NotModified"
}

func isNotFound(err error) bool {
	switch collectors.ErrorCode(err) {
	case "NoSuchKey", "NotFound", "NoSuchBucket":
		return true
	}
	var re *smithyhttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == 404
}

// S3Source reads manifests from S3: the object named by an AMI tag
// (tag: driftd:manifest = s3://bucket/key), else <prefix><ami-id><suffix>
// with the dir source's suffixes. Objects are cached per AMI and
// revalidated after the TTL with a conditional GET (If-None-Match): 304
// keeps the parsed manifest, a new ETag re-reads it.
type S3Source struct {
	base
	rd     s3Reader
	prefix *S3Location
	tag    string
}

// NewS3Source returns an S3 source; uri (s3://bucket/prefix/) and tag (an
// AMI tag key) are optional but not both empty.
func NewS3Source(name string, api S3API, uri, tag string, opts Options) (*S3Source, error) {
	if api == nil {
		return nil, fmt.Errorf("baseline source %s: no S3 client", name)
	}
	if uri == "" && tag == "" {
		return nil, fmt.Errorf("baseline source %s: set a uri, a tag or both", name)
	}
	opts.defaults()
	s := &S3Source{base: base{name: name, opts: opts}, rd: s3Reader{api}, tag: tag}
	if uri != "" {
		loc, err := ParseS3URI(uri)
		if err != nil {
			return nil, fmt.Errorf("baseline source %s: %w", name, err)
		}
		if loc.Key != "" && !strings.HasSuffix(loc.Key, "/") {
			loc.Key += "/"
		}
		s.prefix = &loc
	}
	return s, nil
}

// Resolve implements collectors.BaselineSource.
func (s *S3Source) Resolve(ctx context.Context, ami collectors.AMIInfo) (*drift.Manifest, collectors.Resolution, error) {
	return s.cachedResolve(ctx, ami, s.resolve)
}

func (s *S3Source) resolve(ctx context.Context, e *entry, ami collectors.AMIInfo, now time.Time) {
	if s.tag != "" {
		if v, ok := ami.Tags[s.tag]; ok {
			loc, err := ParseS3URI(strings.TrimSpace(v))
			if err == nil && (loc.Key == "" || strings.HasSuffix(loc.Key, "/")) {
				err = fmt.Errorf("%q names no object", v)
			}
			if err != nil {
				e.set(now, nil, collectors.Resolution{}, fmt.Errorf("AMI tag %s: %w", s.tag, err))
				return
			}
			s.fetch(ctx, e, ami, now, loc, " (AMI tag "+s.tag+")")
			return
		}
		if s.prefix == nil {
			e.set(now, nil, collectors.Resolution{}, missing("AMI %s has no tag %s", ami.ID, s.tag))
			return
		}
	}
	// <prefix><ami-id><suffix>: revalidate the known object, else list.
	if e.where != "" && e.etag != "" {
		if loc, err := ParseS3URI(e.where); err == nil && loc.Bucket == s.prefix.Bucket && strings.HasPrefix(loc.Key, s.prefix.Key+ami.ID+".") {
			if s.fetch(ctx, e, ami, now, loc, "") {
				return
			}
		}
	}
	loc, err := s.find(ctx, ami)
	switch {
	case err == nil:
		s.fetch(ctx, e, ami, now, loc, "")
	case errors.Is(err, collectors.ErrNoManifest):
		e.where, e.etag = "", ""
		e.set(now, nil, collectors.Resolution{}, err)
	case transient(err) && s.fallback(e, now, e.goodRes.Where, err):
	default:
		e.set(now, nil, collectors.Resolution{}, err)
	}
}

// find lists <prefix><ami-id>. and picks the first suffix, in the dir
// source's order, that exists.
func (s *S3Source) find(ctx context.Context, ami collectors.AMIInfo) (S3Location, error) {
	p := s.prefix.Key + ami.ID + "."
	out, err := s.rd.api.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(s.prefix.Bucket), Prefix: aws.String(p), MaxKeys: aws.Int32(100)})
	if err != nil {
		return S3Location{}, s.apiError(ctx, fmt.Sprintf("s3://%s/%s (listing)", s.prefix.Bucket, p), err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	for _, suf := range collectors.ManifestSuffixes {
		if slices.Contains(keys, s.prefix.Key+ami.ID+suf) {
			return S3Location{Bucket: s.prefix.Bucket, Key: s.prefix.Key + ami.ID + suf}, nil
		}
	}
	return S3Location{}, missing("no s3://%s/%s%s.{yaml,yml,json,cdx.json,spdx.json,imagebuilder.json}", s.prefix.Bucket, s.prefix.Key, ami.ID)
}

// fetch reads loc (conditionally when it is the object last read) and
// updates the entry. It returns false when the object does not exist and
// the caller should look elsewhere (prefix layout only).
func (s *S3Source) fetch(ctx context.Context, e *entry, ami collectors.AMIInfo, now time.Time, loc S3Location, via string) bool {
	where := loc.String()
	etag := ""
	if e.where == where {
		etag = e.etag
	}
	obj, err := s.rd.read(ctx, loc, etag)
	switch {
	case err == nil && obj.notModified:
		e.checked, e.valid = now, true
		return true
	case err != nil && isNotFound(err) && via == "":
		e.where, e.etag = "", ""
		return false
	case err != nil:
		werr := s.apiError(ctx, where+via, err)
		if transient(err) && e.where == where && s.fallback(e, now, where, werr) {
			return true
		}
		e.set(now, nil, collectors.Resolution{}, werr)
		return true
	}
	e.where, e.etag = where, obj.etag
	m, derr := decode(where, obj.data, ami, manifest.Options{})
	if derr != nil {
		derr = fmt.Errorf("%s (etag %s): %s", where, obj.etag, strings.TrimPrefix(derr.Error(), where+": "))
		if !s.fallback(e, now, where, derr) {
			e.set(now, nil, collectors.Resolution{}, derr)
		}
		return true
	}
	e.set(now, m, collectors.Resolution{Where: where, Version: obj.etag}, nil)
	return true
}
