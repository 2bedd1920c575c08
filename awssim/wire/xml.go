package wire

import (
	"bytes"
	"sort"
	"strconv"
	"time"
)

// XML is a small writer for hand-rendered query-protocol responses
// (ec2Query and awsQuery members, already in the response's order).
type XML struct{ bytes.Buffer }

// El writes <name>v</name> with v escaped.
func (b *XML) El(name, v string) {
	b.Open(name)
	b.WriteString(Esc(v))
	b.Close(name)
}

// Opt writes <name>v</name> unless v is empty.
func (b *XML) Opt(name, v string) {
	if v != "" {
		b.El(name, v)
	}
}

// Int writes an integer member.
func (b *XML) Int(name string, n int) { b.El(name, strconv.Itoa(n)) }

// Bool writes a boolean member.
func (b *XML) Bool(name string, v bool) { b.El(name, strconv.FormatBool(v)) }

// Time writes a timestamp member (XMLTime).
func (b *XML) Time(name string, t time.Time) { b.El(name, XMLTime(t)) }

// Open writes <name>.
func (b *XML) Open(name string) {
	b.WriteByte('<')
	b.WriteString(name)
	b.WriteByte('>')
}

// Close writes </name>.
func (b *XML) Close(name string) {
	b.WriteString("</")
	b.WriteString(name)
	b.WriteByte('>')
}

// ItemSet writes an ec2Query list, <name><item>…</item>…</name>, with each
// rendering the members of one item.
func ItemSet[T any](b *XML, name string, items []T, each func(b *XML, v T)) {
	list(b, name, "item", items, each)
}

// MemberList writes an awsQuery list, <name><member>…</member>…</name>,
// with each rendering the members of one element.
func MemberList[T any](b *XML, name string, items []T, each func(b *XML, v T)) {
	list(b, name, "member", items, each)
}

func list[T any](b *XML, name, elem string, items []T, each func(b *XML, v T)) {
	b.Open(name)
	for _, v := range items {
		b.Open(elem)
		each(b, v)
		b.Close(elem)
	}
	b.Close(name)
}

// TagSet writes an ec2Query tagSet (keys sorted); nothing for no tags.
func TagSet(b *XML, tags map[string]string) {
	if len(tags) == 0 {
		return
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ItemSet(b, "tagSet", keys, func(b *XML, k string) {
		b.El("key", k)
		b.El("value", tags[k])
	})
}
