package drift

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// Printable returns s for display on a terminal, in a table or a chat
// message: every rune that is not printable — control characters (NUL,
// ESC, newlines), format characters such as U+202E (right-to-left
// override), invalid UTF-8 — is written as a Go escape (\x00, \x1b, \n,
// \u202e), so inventory data holding them stays on one line and cannot
// rewrite what surrounds it. Spaces are kept. Printable text is returned
// unchanged, without allocating.
//
// Control characters in observed inventory are data, not errors (the agent
// reports what the instance has); they are escaped where they are shown and
// kept as they are in JSON, which escapes them itself.
func Printable(s string) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 || !isPrintable(r) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, 0, len(s)+16)
	b = append(b, s[:i]...)
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			b = append(b, `\x`...)
			b = append(b, "0123456789abcdef"[s[i]>>4], "0123456789abcdef"[s[i]&0xf])
		case isPrintable(r):
			b = append(b, s[i:i+n]...)
		default:
			q := strconv.QuoteRuneToASCII(r) // '\x00', '\n', '\u202e'
			b = append(b, q[1:len(q)-1]...)
		}
		i += n
	}
	return string(b)
}

func isPrintable(r rune) bool { return r == ' ' || unicode.IsPrint(r) }
