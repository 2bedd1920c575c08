package wire

import (
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// EC2List returns the values of an ec2Query list (Prefix.1, Prefix.2, ...),
// ordered by index.
func EC2List(form url.Values, prefix string) []string {
	return indexed(form, prefix+".")
}

// QueryList returns the values of an awsQuery list (Prefix.member.N),
// ordered by index.
func QueryList(form url.Values, prefix string) []string {
	return indexed(form, prefix+".member.")
}

// indexed collects form[prefix+N] ordered by N.
func indexed(form url.Values, prefix string) []string {
	type kv struct {
		n int
		v string
	}
	var out []kv
	for k, vs := range form {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		n, err := strconv.Atoi(k[len(prefix):])
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

// Indices returns the sorted distinct N of the keys prefix+N+"."+...: the
// elements of a list of structures.
func Indices(form url.Values, prefix string) []int {
	seen := map[int]bool{}
	for k := range form {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		num, _, _ := strings.Cut(k[len(prefix):], ".")
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

// Filter is a Describe* filter: a name and the values it accepts.
type Filter struct {
	Name   string
	Values []string
}

// EC2Filters parses ec2Query filters: Filter.N.Name / Filter.N.Value.M.
func EC2Filters(form url.Values) []Filter {
	return filters(form, "Filter.", "Value", EC2List)
}

// QueryFilters parses awsQuery filters: Filters.member.N.Name /
// Filters.member.N.Values.member.M.
func QueryFilters(form url.Values) []Filter {
	return filters(form, "Filters.member.", "Values", QueryList)
}

func filters(form url.Values, prefix, values string, list func(url.Values, string) []string) []Filter {
	var out []Filter
	for _, n := range Indices(form, prefix) {
		p := prefix + strconv.Itoa(n) + "."
		out = append(out, Filter{Name: form.Get(p + "Name"), Values: list(form, p+values)})
	}
	return out
}

// ParseBool parses a query boolean; ok is false for anything but true/false.
func ParseBool(s string) (v, ok bool) {
	switch s {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// Fingerprint renders a form's parameters but skip, sorted, as a
// pagination token scope: a token is valid only for the query it was
// issued for.
func Fingerprint(form url.Values, skip ...string) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		if !slices.Contains(skip, k) {
			keys = append(keys, k)
		}
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
