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
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
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

// MaxLineBytes bounds one line (one entry).
const MaxLineBytes = 1 << 20

// Decode streams a JSON-lines object for instanceID: every line must be one
// flat JSON object of strings whose resourceId is the instance and whose
// captureTime (RFC 3339, UTC) is the same on every line. size, when >= 0, is
// the object's length from the listing or Content-Length: reading fewer
// bytes (a body cut short) is an error. An empty object is an error (Resource
// Data Sync writes no empty files; an empty body is a failed download).
//
// The body is read line by line through a 64 KiB buffer (never whole).
// Lines in the form Resource Data Sync writes — a flat object of plain
// strings without escapes or non-ASCII bytes — are parsed by a specialised
// scanner (it decodes 4-5x faster than encoding/json and shares attribute
// name strings between entries); any other line is decoded by encoding/json,
// so escapes, Unicode and errors behave exactly as JSON specifies
// (FuzzFastObject checks both agree).
func Decode(key, instanceID string, r io.Reader, size int64) (*Decoded, error) {
	cr := &countingReader{r: r}
	br := bufio.NewReaderSize(cr, 64<<10)
	out := &Decoded{}
	names := map[string]string{}
	intern := func(b []byte) string {
		if s, ok := names[string(b)]; ok {
			return s
		}
		s := string(b)
		names[s] = s
		return s
	}
	var capture string
	var long []byte
	for line := 1; ; {
		raw, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long[:0], raw...)
			for err == bufio.ErrBufferFull {
				if len(long) > MaxLineBytes {
					return nil, &DecodeError{key, line, fmt.Errorf("line longer than %d bytes", MaxLineBytes)}
				}
				raw, err = br.ReadSlice('\n')
				long = append(long, raw...)
			}
			raw = long
			if len(raw) > MaxLineBytes {
				return nil, &DecodeError{key, line, fmt.Errorf("line longer than %d bytes", MaxLineBytes)}
			}
		}
		if err != nil && err != io.EOF {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, &DecodeError{key, line, errors.New("object truncated (unexpected end of data)")}
			}
			return nil, &DecodeError{key, line, fmt.Errorf("reading: %w", err)}
		}
		b := bytes.TrimSpace(raw)
		if len(b) > 0 {
			e, ok := parseFlat(b, intern)
			if !ok {
				if jerr := json.Unmarshal(b, &e); jerr != nil {
					var te *json.UnmarshalTypeError
					var se *json.SyntaxError
					switch {
					case errors.As(jerr, &te):
						return nil, &DecodeError{key, line, fmt.Errorf("an attribute value is a %s, not a string", te.Value)}
					case err == io.EOF && errors.As(jerr, &se) && strings.Contains(jerr.Error(), "unexpected end"):
						return nil, &DecodeError{key, line, errors.New("object truncated (unexpected end of data)")}
					}
					return nil, &DecodeError{key, line, jerr}
				}
				if e == nil {
					return nil, &DecodeError{key, line, errors.New("line is not a JSON object")}
				}
			}
			if line > MaxLines {
				return nil, &DecodeError{key, line, fmt.Errorf("more than %d entries", MaxLines)}
			}
			rid, ct, sv := e[attrResourceID], e[attrCaptureTime], e[attrSchemaVersion]
			if rid != instanceID {
				return nil, &DecodeError{key, line, fmt.Errorf("resourceId %q is not the object's instance %s", rid, instanceID)}
			}
			if line == 1 {
				t, perr := collectors.ParseCaptureTime(ct)
				if perr != nil {
					return nil, &DecodeError{key, line, perr}
				}
				capture, out.CaptureTime, out.SchemaVersion = ct, t, sv
			} else if ct != capture {
				return nil, &DecodeError{key, line, fmt.Errorf("captureTime %q differs from the first line's %q", ct, capture)}
			}
			delete(e, attrResourceID)
			delete(e, attrCaptureTime)
			delete(e, attrSchemaVersion)
			out.Entries = append(out.Entries, e)
			line++
		}
		if err == io.EOF {
			break
		}
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

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// plainString returns the content of the JSON string starting at b[i] when
// it holds only printable ASCII without escapes, and the index after it.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// parseFlat parses b as one flat JSON object of plain strings (see
// plainString); ok is false for anything else, which the caller hands to
// encoding/json.
func parseFlat(b []byte, intern func([]byte) string) (map[string]string, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, false
	}
	m := make(map[string]string, 12)
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return m, skipSpace(b, i+1) == len(b)
	}
	for {
		k, j, ok := plainString(b, i)
		if !ok {
			return nil, false
		}
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return nil, false
		}
		v, j, ok := plainString(b, skipSpace(b, i+1))
		if !ok {
			return nil, false
		}
		m[intern(k)] = string(v)
		i = skipSpace(b, j)
		if i >= len(b) {
			return nil, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return m, skipSpace(b, i+1) == len(b)
		default:
			return nil, false
		}
	}
}
