package drift

import "strings"

// This file holds the version orderings. They are allocation-free ports of
// rpm's rpmvercmp (rpmio/rpmvercmp.cc, including '~' and '^') and dpkg's
// verrevcmp (lib/dpkg/version.c), because Compare parses versions in its hot
// path. version_test.go and the FuzzCompareVersions target check them against
// github.com/knqyf263/go-rpm-version and github.com/knqyf263/go-deb-version,
// which serve as reference implementations.

// CompareVersions orders two canonical EVR strings ([epoch:]version[-release])
// of the given package format: -1 if a < b, 0 if equal, +1 if a > b.
// FormatWindows uses the dotted numeric ordering of WindowsVerCmp (a Windows
// version has no epoch and no release). FormatGeneric uses the rpm
// algorithm, which degrades gracefully on arbitrary dotted versions.
func CompareVersions(format PackageFormat, a, b string) int {
	if a == b {
		return 0
	}
	switch format {
	case FormatDeb:
		return compareDeb(a, b)
	case FormatWindows:
		return WindowsVerCmp(a, b)
	default:
		return compareRPM(a, b)
	}
}

// splitEpoch splits "E:rest" when E is all digits (empty E counts as 0).
func splitEpoch(s string) (epoch, rest string) {
	i := strings.IndexByte(s, ':')
	if i <= 0 {
		return "", s
	}
	for k := 0; k < i; k++ {
		if s[k] < '0' || s[k] > '9' {
			return "", s
		}
	}
	return s[:i], s[i+1:]
}

// compareEpoch compares two decimal epoch strings numerically ("" == "0").
func compareEpoch(a, b string) int {
	a = strings.TrimLeft(a, "0")
	b = strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// splitRPM splits an rpm EVR; like rpm, version and release are separated by
// the first '-' after the epoch.
func splitRPM(s string) (e, v, r string) {
	e, s = splitEpoch(s)
	if i := strings.IndexByte(s, '-'); i >= 0 {
		return e, s[:i], s[i+1:]
	}
	return e, s, ""
}

func compareRPM(a, b string) int {
	ea, va, ra := splitRPM(a)
	eb, vb, rb := splitRPM(b)
	if c := compareEpoch(ea, eb); c != 0 {
		return c
	}
	if c := RPMVerCmp(va, vb); c != 0 {
		return c
	}
	return RPMVerCmp(ra, rb)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// RPMVerCmp is rpm's rpmvercmp on one version or release string.
func RPMVerCmp(a, b string) int {
	if a == b {
		return 0
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for i < len(a) && !isDigit(a[i]) && !isAlpha(a[i]) && a[i] != '~' && a[i] != '^' {
			i++
		}
		for j < len(b) && !isDigit(b[j]) && !isAlpha(b[j]) && b[j] != '~' && b[j] != '^' {
			j++
		}
		ca, cb := byte(0), byte(0)
		if i < len(a) {
			ca = a[i]
		}
		if j < len(b) {
			cb = b[j]
		}
		// tilde sorts before everything, even the end of the string
		if ca == '~' || cb == '~' {
			if ca != '~' {
				return 1
			}
			if cb != '~' {
				return -1
			}
			i++
			j++
			continue
		}
		// caret sorts after the end of the string but before anything else
		if ca == '^' || cb == '^' {
			if i >= len(a) {
				return -1
			}
			if j >= len(b) {
				return 1
			}
			if ca != '^' {
				return 1
			}
			if cb != '^' {
				return -1
			}
			i++
			j++
			continue
		}
		if i >= len(a) || j >= len(b) {
			break
		}
		si, sj := i, j
		isnum := isDigit(a[i])
		if isnum {
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
		} else {
			for i < len(a) && isAlpha(a[i]) {
				i++
			}
			for j < len(b) && isAlpha(b[j]) {
				j++
			}
		}
		if sj == j { // segment types differ: numeric beats alpha
			if isnum {
				return 1
			}
			return -1
		}
		sa, sb := a[si:i], b[sj:j]
		if isnum {
			sa = strings.TrimLeft(sa, "0")
			sb = strings.TrimLeft(sb, "0")
			if len(sa) != len(sb) {
				if len(sa) > len(sb) {
					return 1
				}
				return -1
			}
		}
		if c := strings.Compare(sa, sb); c != 0 {
			return c
		}
	}
	if i >= len(a) && j >= len(b) {
		return 0
	}
	if i < len(a) {
		return 1
	}
	return -1
}

// splitDeb splits a Debian version: epoch before the first ':', revision
// after the last '-'.
func splitDeb(s string) (e, v, r string) {
	e, s = splitEpoch(s)
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		return e, s[:i], s[i+1:]
	}
	return e, s, ""
}

func compareDeb(a, b string) int {
	ea, va, ra := splitDeb(a)
	eb, vb, rb := splitDeb(b)
	if c := compareEpoch(ea, eb); c != 0 {
		return c
	}
	if c := DebVerRevCmp(va, vb); c != 0 {
		return c
	}
	return DebVerRevCmp(ra, rb)
}

func debOrder(a string, i int) int {
	if i >= len(a) {
		return 0
	}
	c := a[i]
	switch {
	case isDigit(c):
		return 0
	case isAlpha(c):
		return int(c)
	case c == '~':
		return -1
	default:
		return int(c) + 256
	}
}

// DebVerRevCmp is dpkg's verrevcmp on an upstream version or revision.
func DebVerRevCmp(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		firstDiff := 0
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ac, bc := debOrder(a, i), debOrder(b, j)
			if ac != bc {
				return sign(ac - bc)
			}
			i++
			j++
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		for i < len(a) && j < len(b) && isDigit(a[i]) && isDigit(b[j]) {
			if firstDiff == 0 {
				firstDiff = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if firstDiff != 0 {
			return sign(firstDiff)
		}
	}
	return 0
}

func sign(x int) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}

// WindowsVerCmp orders two Windows application versions (the DisplayVersion
// of an uninstall registry entry, as the SSM agent reports it) as dotted
// numeric versions: -1 if a < b, 0 if equal, +1 if a > b.
//
//   - Components are separated by '.' and compared left to right; a
//     missing component counts as "0", so 1.2 == 1.2.0 == 1.2.0.0.
//   - A component of digits compares numerically, at any length and
//     ignoring leading zeros: 10.0.19041.1 < 10.0.19041.10 < 10.0.19041.100.
//   - A component that is not a plain number ("0-beta", "5a", "build 7")
//     compares by its leading digits first (numerically; a component
//     without leading digits sorts before every number), then by the rest:
//     nothing sorts before anything, then byte by byte with ASCII letters
//     folded to lower case, then byte by byte exactly. So 2.0 < 2.0a <
//     2.0B < 2.0b < 2.1 and 8.6.0 < 8.6.0-beta.
//
// Surrounding white space is ignored. The order is total: equal results
// only for versions that are the same number component by component.
func WindowsVerCmp(a, b string) int {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if a == b {
		return 0
	}
	for a != "" || b != "" {
		var ca, cb string
		ca, a = cutComponent(a)
		cb, b = cutComponent(b)
		if c := compareComponent(ca, cb); c != 0 {
			return c
		}
	}
	return 0
}

// cutComponent splits the first dotted component off v; a missing
// component (v == "") is "0".
func cutComponent(v string) (comp, rest string) {
	if v == "" {
		return "0", ""
	}
	if i := strings.IndexByte(v, '.'); i >= 0 {
		return v[:i], v[i+1:]
	}
	return v, ""
}

// compareComponent orders two dotted components: leading digits
// numerically (none < any), then the rest (see WindowsVerCmp).
func compareComponent(a, b string) int {
	i, j := 0, 0
	for i < len(a) && isDigit(a[i]) {
		i++
	}
	for j < len(b) && isDigit(b[j]) {
		j++
	}
	switch {
	case i == 0 && j > 0:
		return -1
	case i > 0 && j == 0:
		return 1
	}
	na, nb := strings.TrimLeft(a[:i], "0"), strings.TrimLeft(b[:j], "0")
	if len(na) != len(nb) {
		return sign(len(na) - len(nb))
	}
	if c := strings.Compare(na, nb); c != 0 {
		return c
	}
	ra, rb := a[i:], b[j:]
	if c := compareFolded(ra, rb); c != 0 {
		return c
	}
	return strings.Compare(ra, rb)
}

// compareFolded compares byte by byte with ASCII letters folded to lower
// case; a prefix sorts first.
func compareFolded(a, b string) int {
	for k := 0; k < len(a) && k < len(b); k++ {
		x, y := lowerASCII(a[k]), lowerASCII(b[k])
		if x != y {
			return sign(int(x) - int(y))
		}
	}
	return sign(len(a) - len(b))
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
