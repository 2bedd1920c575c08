package awssim

import "strings"

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
