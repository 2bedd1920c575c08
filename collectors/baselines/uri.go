package baselines

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// S3Location is a bucket and a key (or key prefix).
type S3Location struct {
	Bucket string
	Key    string
}

// String returns the s3:// URI.
func (l S3Location) String() string { return "s3://" + l.Bucket + "/" + l.Key }

// ParseS3URI parses s3://bucket/key. The key may be empty (a bucket or a
// prefix); it is taken literally (no URL decoding: S3 keys may contain
// '%', '+' and spaces).
func ParseS3URI(s string) (S3Location, error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return S3Location{}, fmt.Errorf("%q is not an s3:// URI", trunc(s))
	}
	bucket, key, _ := strings.Cut(rest, "/")
	if err := checkBucket(bucket); err != nil {
		return S3Location{}, fmt.Errorf("%q: %w", trunc(s), err)
	}
	if len(key) > 1024 {
		return S3Location{}, fmt.Errorf("%q: key longer than 1024 bytes", trunc(s))
	}
	if !utf8.ValidString(key) {
		return S3Location{}, fmt.Errorf("%q: key is not valid UTF-8", trunc(s))
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return S3Location{}, fmt.Errorf("%q: key contains a control character", trunc(s))
		}
	}
	return S3Location{Bucket: bucket, Key: key}, nil
}

// checkBucket applies S3's bucket naming rules.
func checkBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket %q: must be 3-63 characters", trunc(b))
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-'
		if !ok {
			return fmt.Errorf("bucket %q: only lowercase letters, digits, '.' and '-' are allowed", b)
		}
	}
	if !isAlnum(b[0]) || !isAlnum(b[len(b)-1]) {
		return fmt.Errorf("bucket %q: must begin and end with a letter or digit", b)
	}
	if strings.Contains(b, "..") {
		return fmt.Errorf("bucket %q: must not contain two adjacent periods", b)
	}
	return nil
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func trunc(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// ValueKind is what an SSM parameter value holds.
type ValueKind int

const (
	// ValueManifest is an inline manifest document.
	ValueManifest ValueKind = iota + 1
	// ValueS3URI is an s3://bucket/key pointer to a manifest.
	ValueS3URI
)

// MaxParameterValue is the largest value an SSM parameter can hold
// (advanced tier, 8 KB); larger values are rejected as corrupt.
const MaxParameterValue = 8192

// SniffParameterValue says whether a parameter value is an inline manifest
// or an s3:// URI (a single line starting with s3://, surrounding spaces
// ignored); for a URI it returns the location. Empty values and malformed
// URIs are errors.
func SniffParameterValue(v string) (ValueKind, S3Location, error) {
	t := strings.TrimSpace(v)
	switch {
	case t == "":
		return 0, S3Location{}, errors.New("value is empty")
	case len(v) > MaxParameterValue:
		return 0, S3Location{}, fmt.Errorf("value is %d bytes, more than a parameter can hold (%d)", len(v), MaxParameterValue)
	case strings.HasPrefix(t, "s3://"):
		if strings.ContainsAny(t, "\r\n") {
			return 0, S3Location{}, errors.New("value starts with s3:// but spans several lines")
		}
		loc, err := ParseS3URI(t)
		if err != nil {
			return 0, S3Location{}, err
		}
		if loc.Key == "" || strings.HasSuffix(loc.Key, "/") {
			return 0, S3Location{}, fmt.Errorf("%q names no object (empty key or a prefix)", t)
		}
		return ValueS3URI, loc, nil
	}
	return ValueManifest, S3Location{}, nil
}
