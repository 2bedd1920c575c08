package config

import "strings"

// RedactURL returns raw fit to quote in an error or a log: the userinfo
// (user:password@, or a token@) and every query value are replaced by ***,
// and a fragment is dropped. It works on the text, not on url.Parse, so a
// URL too broken to parse is redacted all the same.
func RedactURL(raw string) string {
	s, frag, hasFrag := strings.Cut(raw, "#")
	s, query, hasQuery := strings.Cut(s, "?")
	// The authority runs from after "scheme://" (or the start) to the first '/'.
	start := 0
	if i := strings.Index(s, "://"); i >= 0 {
		start = i + 3
	}
	end := len(s)
	if i := strings.IndexByte(s[start:], '/'); i >= 0 {
		end = start + i
	}
	if at := strings.LastIndexByte(s[start:end], '@'); at >= 0 {
		s = s[:start] + "***" + s[start+at:]
	}
	var b strings.Builder
	b.WriteString(s)
	if hasQuery {
		b.WriteByte('?')
		for i, p := range strings.Split(query, "&") {
			if i > 0 {
				b.WriteByte('&')
			}
			k, _, hasVal := strings.Cut(p, "=")
			b.WriteString(k)
			if hasVal {
				b.WriteString("=***")
			}
		}
	}
	if hasFrag && frag != "" {
		b.WriteString("#***")
	}
	return b.String()
}
