package awssim

import (
	"bytes"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/driftd/driftd/awssim/wire"
)

// ec2List returns the values of an ec2Query list (Prefix.1, Prefix.2, ...),
// ordered by index.
func ec2List(form url.Values, prefix string) []string {
	return indexed(form, prefix+".", "")
}

// queryList returns the values of an awsQuery list (Prefix.member.N).
func queryList(form url.Values, prefix string) []string {
	return indexed(form, prefix+".member.", "")
}

// indexed collects form[prefix+N+suffix] ordered by N.
func indexed(form url.Values, prefix, suffix string) []string {
	type kv struct {
		n int
		v string
	}
	var out []kv
	for k, vs := range form {
		if !strings.HasPrefix(k, prefix) || !strings.HasSuffix(k, suffix) {
			continue
		}
		mid := k[len(prefix) : len(k)-len(suffix)]
		n, err := strconv.Atoi(mid)
		if err != nil || n < 1 {
			continue
		}
		out = append(out, kv{n, vs[0]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].n < out[j].n })
	vals := make([]string, len(out))
	for i, x := range out {
		vals[i] = x.v
	}
	return vals
}

// indices returns the sorted distinct N of keys prefix+N+"."+...
func indices(form url.Values, prefix string) []int {
	seen := map[int]bool{}
	for k := range form {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		rest := k[len(prefix):]
		num, _, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(num)
		if err == nil && n >= 1 {
			seen[n] = true
		}
	}
	out := make([]int, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

type filter struct {
	Name   string
	Values []string
}

// ec2Filters parses Filter.N.Name / Filter.N.Value.M.
func ec2Filters(form url.Values) []filter {
	var out []filter
	for _, n := range indices(form, "Filter.") {
		p := "Filter." + strconv.Itoa(n) + "."
		out = append(out, filter{Name: form.Get(p + "Name"), Values: ec2List(form, p+"Value")})
	}
	return out
}

// asgFilters parses Filters.member.N.Name / Filters.member.N.Values.member.M.
func asgFilters(form url.Values) []filter {
	var out []filter
	for _, n := range indices(form, "Filters.member.") {
		p := "Filters.member." + strconv.Itoa(n) + "."
		out = append(out, filter{Name: form.Get(p + "Name"), Values: queryList(form, p+"Values")})
	}
	return out
}

// glob matches v against an EC2 filter pattern (* and ? wildcards).
func glob(pat, v string) bool {
	if !strings.ContainsAny(pat, "*?") {
		return pat == v
	}
	for len(pat) > 0 {
		switch pat[0] {
		case '*':
			for len(pat) > 0 && pat[0] == '*' {
				pat = pat[1:]
			}
			if pat == "" {
				return true
			}
			for i := 0; i <= len(v); i++ {
				if glob(pat, v[i:]) {
					return true
				}
			}
			return false
		case '?':
			if v == "" {
				return false
			}
			pat, v = pat[1:], v[1:]
		default:
			if v == "" || pat[0] != v[0] {
				return false
			}
			pat, v = pat[1:], v[1:]
		}
	}
	return v == ""
}

func anyGlob(pats []string, v string) bool {
	for _, p := range pats {
		if glob(p, v) {
			return true
		}
	}
	return false
}

// xb is a small XML writer for hand-rendered responses.
type xb struct{ bytes.Buffer }

func (b *xb) el(name, v string) {
	b.WriteByte('<')
	b.WriteString(name)
	b.WriteByte('>')
	b.WriteString(wire.Esc(v))
	b.WriteString("</")
	b.WriteString(name)
	b.WriteByte('>')
}

func (b *xb) opt(name, v string) {
	if v != "" {
		b.el(name, v)
	}
}

func (b *xb) int(name string, n int) { b.el(name, strconv.Itoa(n)) }

func (b *xb) bool(name string, v bool) { b.el(name, strconv.FormatBool(v)) }

func (b *xb) time(name string, t time.Time) { b.el(name, wire.XMLTime(t)) }

func (b *xb) open(name string) {
	b.WriteByte('<')
	b.WriteString(name)
	b.WriteByte('>')
}

func (b *xb) close(name string) {
	b.WriteString("</")
	b.WriteString(name)
	b.WriteByte('>')
}

// parseBool parses a query boolean; ok is false for anything but true/false.
func parseBool(s string) (bool, bool) {
	switch s {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

func fingerprint(form url.Values, skip ...string) string {
	keys := make([]string, 0, len(form))
outer:
	for k := range form {
		for _, s := range skip {
			if k == s {
				continue outer
			}
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strings.Join(form[k], ","))
		b.WriteByte('&')
	}
	return b.String()
}
