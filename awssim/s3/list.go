package s3

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/driftd/driftd/awssim/wire"
)

// cursor walks one ordered key source (the stored keys or one mount) in
// batches, so a listing page costs one or two source calls.
type cursor struct {
	// fetch returns the next batch after `after`: the keys to use, the last
	// key the source returned (filtered or not) and whether it is exhausted.
	fetch func(after string, n int) (items []ObjectInfo, last string, eof bool, err error)
	buf   []ObjectInfo
	after string // last key fetched (or seek position)
	eof   bool
	batch int
}

func (c *cursor) peek() (*ObjectInfo, error) {
	for len(c.buf) == 0 {
		if c.eof {
			return nil, nil
		}
		items, last, eof, err := c.fetch(c.after, c.batch)
		if err != nil {
			return nil, err
		}
		if !eof && last <= c.after {
			return nil, fmt.Errorf("object source made no progress after %q", c.after)
		}
		prev := c.after
		for i := range items {
			if items[i].Key <= prev {
				return nil, fmt.Errorf("object source returned key %q out of order (after %q)", items[i].Key, prev)
			}
			prev = items[i].Key
		}
		c.eof = eof
		c.buf = items
		if last > c.after {
			c.after = last
		}
	}
	return &c.buf[0], nil
}

// skip drops every key <= after.
func (c *cursor) skip(after string) {
	for len(c.buf) > 0 && c.buf[0].Key <= after {
		c.buf = c.buf[1:]
	}
	if len(c.buf) == 0 && after > c.after {
		c.after = after
	}
}

type listPage struct {
	contents  []ObjectInfo
	prefixes  []string
	truncated bool
	next      string // position to continue after
}

// list merges stored and virtual keys of bucket: keys with prefix, strictly
// after `after`, rolled up by delimiter, at most maxKeys entries.
func (s3s *Service) list(b *s3Bucket, mounts []s3Mount, prefix, delimiter, after string, maxKeys int) (listPage, error) {
	var page listPage
	if maxKeys == 0 {
		return page, nil
	}
	batch := maxKeys + 1
	if batch > 1001 {
		batch = 1001
	}
	cursors := []*cursor{{batch: batch, after: after, fetch: func(after string, n int) ([]ObjectInfo, string, bool, error) {
		s3s.mu.Lock()
		defer s3s.mu.Unlock()
		i := sort.SearchStrings(b.keys, prefix)
		j := sort.Search(len(b.keys), func(k int) bool { return b.keys[k] > after })
		if j > i {
			i = j
		}
		var out []ObjectInfo
		for ; i < len(b.keys) && len(out) < n && strings.HasPrefix(b.keys[i], prefix); i++ {
			o := b.objects[b.keys[i]]
			out = append(out, ObjectInfo{Key: b.keys[i], Size: int64(len(o.data)), ETag: o.etag, LastModified: o.modified})
		}
		last := after
		if len(out) > 0 {
			last = out[len(out)-1].Key
		}
		return out, last, len(out) < n, nil
	}}}
	for _, m := range mounts {
		var eff string
		switch {
		case strings.HasPrefix(m.prefix, prefix):
			eff = m.prefix
		case strings.HasPrefix(prefix, m.prefix):
			eff = prefix
		default:
			continue
		}
		m := m
		// A key under a longer mount prefix belongs to that mount only.
		var shadow []string
		for _, o := range mounts {
			if len(o.prefix) > len(m.prefix) && strings.HasPrefix(o.prefix, m.prefix) {
				shadow = append(shadow, o.prefix)
			}
		}
		cursors = append(cursors, &cursor{batch: batch, after: after, fetch: func(after string, n int) ([]ObjectInfo, string, bool, error) {
			items, err := m.src.List(eff, after, n)
			if err != nil {
				return nil, "", false, err
			}
			if len(items) > n {
				return nil, "", false, fmt.Errorf("object source returned %d keys for a limit of %d", len(items), n)
			}
			out := items[:0:0]
			for _, it := range items {
				owned := strings.HasPrefix(it.Key, m.prefix)
				for _, sp := range shadow {
					if strings.HasPrefix(it.Key, sp) {
						owned = false
					}
				}
				if owned {
					out = append(out, it)
				}
			}
			last := after
			if len(items) > 0 {
				last = items[len(items)-1].Key
			}
			return out, last, len(items) < n, nil
		}})
	}
	next := func() (*ObjectInfo, error) {
		var best *ObjectInfo
		for _, c := range cursors {
			o, err := c.peek()
			if err != nil {
				return nil, err
			}
			if o != nil && (best == nil || o.Key < best.Key) {
				best = o
			}
		}
		return best, nil
	}
	count := 0
	for {
		o, err := next()
		if err != nil {
			return page, err
		}
		if o == nil {
			return page, nil
		}
		if count == maxKeys {
			page.truncated = true
			return page, nil
		}
		key := o.Key
		if delimiter != "" {
			if i := strings.Index(key[len(prefix):], delimiter); i >= 0 {
				cp := key[:len(prefix)+i+len(delimiter)]
				page.prefixes = append(page.prefixes, cp)
				count++
				page.next = cp + "\xff" // past every key under cp (UTF-8 has no 0xff byte)
				for _, c := range cursors {
					c.skip(page.next)
				}
				continue
			}
		}
		page.contents = append(page.contents, *o)
		count++
		page.next = key
		for _, c := range cursors {
			c.skip(key)
		}
	}
}

func encodeToken(after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v1|" + after))
}

func decodeToken(tok string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", false
	}
	after, ok := strings.CutPrefix(string(b), "v1|")
	return after, ok
}

func (s3s *Service) listObjectsV2(w http.ResponseWriter, req *wire.Request, bucket string, q url.Values) *s3Err {
	prefix := q.Get("prefix")
	delimiter := q.Get("delimiter")
	maxKeys := 1000
	if mk, ok := q["max-keys"]; ok {
		n, err := strconv.Atoi(mk[0])
		if err != nil {
			return s3Error(400, "InvalidArgument", "Provided max-keys not an integer or within integer range")
		}
		if n < 0 {
			return s3Error(400, "InvalidArgument", "Argument maxKeys must be an integer between 0 and 2147483647")
		}
		if n < maxKeys {
			maxKeys = n
		}
	}
	enc := q.Get("encoding-type")
	if enc != "" && enc != "url" {
		return s3Error(400, "InvalidArgument", "Invalid Encoding Method specified in Request")
	}
	after := q.Get("start-after")
	token, hasToken := q["continuation-token"]
	if hasToken {
		a, ok := decodeToken(token[0])
		if !ok || token[0] == "" {
			return s3Error(400, "InvalidArgument", "The continuation token provided is incorrect")
		}
		after = a
	}
	s3s.mu.Lock()
	b := s3s.buckets[bucket]
	var mounts []s3Mount
	denied := false
	if b != nil {
		mounts = append(mounts, b.mounts...)
		for _, p := range b.denied {
			if strings.HasPrefix(prefix, p) {
				denied = true
			}
		}
	}
	s3s.mu.Unlock()
	if b == nil {
		return s3Error(404, "NoSuchBucket", "The specified bucket does not exist")
	}
	if denied {
		return accessDenied()
	}
	page, err := s3s.list(b, mounts, prefix, delimiter, after, maxKeys)
	if err != nil {
		return s3Error(500, "InternalError", "listing %s: %v", bucket, err)
	}
	esc := wire.Esc
	if enc == "url" {
		esc = func(s string) string { return wire.Esc(s3EventKey(s)) }
	}
	writeKey := func(buf *bytes.Buffer, s string) {
		if enc == "" && plainXML(s) {
			buf.WriteString(s)
			return
		}
		buf.WriteString(esc(s))
	}
	var buf bytes.Buffer
	buf.Grow(256 + 200*len(page.contents))
	buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`)
	buf.WriteString("<Name>" + wire.Esc(bucket) + "</Name><Prefix>" + esc(prefix) + "</Prefix>")
	if delimiter != "" {
		buf.WriteString("<Delimiter>" + esc(delimiter) + "</Delimiter>")
	}
	if enc != "" {
		buf.WriteString("<EncodingType>url</EncodingType>")
	}
	fmt.Fprintf(&buf, "<MaxKeys>%d</MaxKeys><KeyCount>%d</KeyCount><IsTruncated>%t</IsTruncated>", maxKeys, len(page.contents)+len(page.prefixes), page.truncated)
	if hasToken {
		buf.WriteString("<ContinuationToken>" + wire.Esc(token[0]) + "</ContinuationToken>")
	}
	if page.truncated {
		buf.WriteString("<NextContinuationToken>" + encodeToken(page.next) + "</NextContinuationToken>")
	}
	if sa := q.Get("start-after"); sa != "" {
		buf.WriteString("<StartAfter>" + esc(sa) + "</StartAfter>")
	}
	owner := q.Get("fetch-owner") == "true"
	var lastTime time.Time
	var lastTimeText string
	for _, o := range page.contents {
		buf.WriteString("<Contents><Key>")
		writeKey(&buf, o.Key)
		buf.WriteString("</Key><LastModified>")
		if !o.LastModified.Equal(lastTime) || lastTimeText == "" {
			lastTime, lastTimeText = o.LastModified, wire.XMLTime(o.LastModified)
		}
		buf.WriteString(lastTimeText)
		buf.WriteString("</LastModified><ETag>&#34;")
		writeKey(&buf, strings.Trim(o.ETag, `"`))
		buf.WriteString("&#34;</ETag><Size>")
		buf.WriteString(strconv.FormatInt(o.Size, 10))
		buf.WriteString("</Size>")
		if owner {
			buf.WriteString("<Owner><ID>" + s3s.acct.AccountID + "</ID></Owner>")
		}
		buf.WriteString("<StorageClass>STANDARD</StorageClass></Contents>")
	}
	for _, p := range page.prefixes {
		buf.WriteString("<CommonPrefixes><Prefix>" + esc(p) + "</Prefix></CommonPrefixes>")
	}
	buf.WriteString("</ListBucketResult>")
	writeXML(w, buf.Bytes())
	return nil
}

// plainXML reports whether s can be written as XML text unescaped.
func plainXML(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x80 || c == '<' || c == '>' || c == '&' || c == '"' || c == '\'' {
			return false
		}
	}
	return true
}
