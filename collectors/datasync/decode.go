// Package datasync reads SSM inventory from the S3 bucket that SSM Resource
// Data Sync fills, as a cheaper alternative to ListInventoryEntries for large
// fleets: a scan lists the type prefixes (1,000 keys a page) and downloads
// only the objects whose ETag changed since the last scan, decoding them as a
// stream.
//
// Layout (one object per node and inventory type, JSON lines, one flat
// object per entry with the type's attributes plus resourceId, captureTime
// and schemaVersion):
//
//	<prefix>/<TypeName>/accountid=<id>/region=<region>/resourcetype=ManagedInstanceInventory/<instance-id>.json
package datasync

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/driftd/driftd/collectors"
)

// Metadata attributes Resource Data Sync adds to every line; they are not
// inventory attributes and are removed from the entries.
const (
	attrResourceID    = "resourceId"
	attrCaptureTime   = "captureTime"
	attrSchemaVersion = "schemaVersion"
)

// MaxLines bounds the entries decoded from one object (a corrupt or hostile
// object cannot exhaust memory).
const MaxLines = 200000

// Decoded is one object's content.
type Decoded struct {
	Entries       []map[string]string
	CaptureTime   time.Time
	SchemaVersion string
	// Bytes is the number of bytes read.
	Bytes int64
}

// DecodeError says why an object could not be used; the instance is then
// unknown, never judged from partial data.
type DecodeError struct {
	Key  string
	Line int
	Err  error
}

func (e *DecodeError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("data sync object %s: line %d: %v", e.Key, e.Line, e.Err)
	}
	return fmt.Sprintf("data sync object %s: %v", e.Key, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Decode streams a JSON-lines object for instanceID: every line must be one
// flat JSON object of strings whose resourceId is the instance and whose
// captureTime (RFC 3339, UTC) is the same on every line. size, when >= 0, is
// the object's length from the listing or Content-Length: reading fewer
// bytes (a body cut short) is an error. An empty object is an error (Resource
// Data Sync writes no empty files; an empty body is a failed download).
func Decode(key, instanceID string, r io.Reader, size int64) (*Decoded, error) {
	cr := &countingReader{r: r}
	dec := json.NewDecoder(cr)
	out := &Decoded{}
	var capture string
	for line := 1; ; line++ {
		var e map[string]string
		err := dec.Decode(&e)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return nil, &DecodeError{key, line, fmt.Errorf("an attribute value is a %s, not a string", te.Value)}
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, &DecodeError{key, line, errors.New("object truncated (unexpected end of data)")}
			}
			return nil, &DecodeError{key, line, err}
		}
		if e == nil {
			return nil, &DecodeError{key, line, errors.New("line is not a JSON object")}
		}
		if line > MaxLines {
			return nil, &DecodeError{key, line, fmt.Errorf("more than %d entries", MaxLines)}
		}
		rid, ct, sv := e[attrResourceID], e[attrCaptureTime], e[attrSchemaVersion]
		if rid != instanceID {
			return nil, &DecodeError{key, line, fmt.Errorf("resourceId %q is not the object's instance %s", rid, instanceID)}
		}
		if line == 1 {
			t, err := collectors.ParseCaptureTime(ct)
			if err != nil {
				return nil, &DecodeError{key, line, err}
			}
			capture, out.CaptureTime, out.SchemaVersion = ct, t, sv
		} else if ct != capture {
			return nil, &DecodeError{key, line, fmt.Errorf("captureTime %q differs from the first line's %q", ct, capture)}
		}
		delete(e, attrResourceID)
		delete(e, attrCaptureTime)
		delete(e, attrSchemaVersion)
		out.Entries = append(out.Entries, e)
	}
	out.Bytes = cr.n
	if len(out.Entries) == 0 {
		return nil, &DecodeError{Key: key, Err: errors.New("object is empty")}
	}
	if size >= 0 && cr.n != size {
		return nil, &DecodeError{Key: key, Err: fmt.Errorf("object truncated: read %d of %d bytes", cr.n, size)}
	}
	return out, nil
}
