package config

import (
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"strings"
)

// HTTPAuth is the `http.auth:` section: who may use the HTTP API and with
// which role. TLS, client-certificate verification and basic-auth password
// hashes live in the --web.config.file (the Prometheus exporter-toolkit
// format); this section maps the identities they establish, bearer tokens
// and AWS identities to roles.
type HTTPAuth struct {
	// Reads is "open" (read-only routes need no identity) or "viewer"
	// (they need an authenticated viewer or operator). Default: "viewer"
	// when any identity source is configured here, "open" otherwise.
	// Mutating routes always need an operator.
	Reads string `yaml:"reads"`
	// Tokens are bearer tokens, each read from a file.
	Tokens []TokenAuth `yaml:"tokens"`
	// BasicAuthRoles maps users of the web configuration file's
	// basic_auth_users to roles; users not listed are viewers.
	BasicAuthRoles map[string]string `yaml:"basic_auth_roles"`
	// ClientCerts map verified client certificates to roles.
	ClientCerts []CertAuth `yaml:"client_certs"`
	// AWS accepts a presigned sts:GetCallerIdentity request.
	AWS *AWSAuth `yaml:"aws"`
	// TrustedProxies are addresses or CIDR prefixes whose
	// X-Forwarded-For is believed in the audit log.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// TokenAuth is one bearer token.
type TokenAuth struct {
	Name string `yaml:"name"`
	File string `yaml:"file"`
	Role string `yaml:"role"`
}

// CertAuth maps a verified client certificate to a role, by its subject's
// common name or its whole subject (RFC 2253 form, e.g. "CN=alice,O=ops").
type CertAuth struct {
	CN      string `yaml:"cn"`
	Subject string `yaml:"subject"`
	Role    string `yaml:"role"`
}

// AWSAuth configures AWS identity: the client presigns
// sts:GetCallerIdentity with its own credentials, signing the
// x-driftd-server-id header with ServerID; driftd sends the request to the
// regional STS endpoint and maps the caller's ARN to a role.
type AWSAuth struct {
	// Region of the STS endpoint (default aws.region).
	Region string `yaml:"region"`
	// ServerID is the value the client must sign in x-driftd-server-id, so
	// a request presigned for another server cannot be replayed here.
	ServerID string `yaml:"server_id"`
	// STSEndpoint replaces https://sts.REGION.amazonaws.com (a VPC
	// endpoint, a simulator). It is the only host driftd ever sends a
	// client's request to.
	STSEndpoint string `yaml:"sts_endpoint"`
	// Roles map caller ARNs to roles, first match wins. An assumed-role
	// session (arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION) is matched
	// as its role ARN (arn:aws:iam::ACCOUNT:role/NAME). Patterns use path.Match
	// syntax ("arn:aws:iam::123456789012:role/ops-*").
	Roles []ARNRole `yaml:"roles"`
}

// ARNRole maps an ARN pattern to a role.
type ARNRole struct {
	ARN  string `yaml:"arn"`
	Role string `yaml:"role"`
}

// Roles of the HTTP API.
const (
	RoleViewer   = "viewer"
	RoleOperator = "operator"
)

var (
	tokenName    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	serverIDRule = regexp.MustCompile(`^[A-Za-z0-9._:/-]{1,128}$`)
)

// Configured reports whether any identity source is configured here.
func (a HTTPAuth) Configured() bool {
	return len(a.Tokens) > 0 || len(a.BasicAuthRoles) > 0 || len(a.ClientCerts) > 0 || a.AWS != nil
}

// ReadsOpen reports whether read-only routes need no identity.
func (a HTTPAuth) ReadsOpen() bool {
	if a.Reads == "" {
		return !a.Configured()
	}
	return a.Reads == "open"
}

func validRole(r string) bool { return r == RoleViewer || r == RoleOperator }

// Validate checks the http.auth section.
func (a HTTPAuth) Validate() []error {
	var errs errorList
	switch a.Reads {
	case "", "open", "viewer":
	default:
		errs.add("http.auth.reads: %q is not one of open, viewer", a.Reads)
	}
	names := map[string]bool{}
	for i, t := range a.Tokens {
		key := fmt.Sprintf("http.auth.tokens[%d]", i)
		switch {
		case !tokenName.MatchString(t.Name):
			errs.add("%s.name: %q must be 1-64 letters, digits, '.', '_' or '-'", key, t.Name)
		case names[t.Name]:
			errs.add("%s.name: %q is used twice", key, t.Name)
		}
		names[t.Name] = true
		if t.File == "" {
			errs.add("%s.file: required (a file holding the token)", key)
		}
		if !validRole(t.Role) {
			errs.add("%s.role: %q is not one of viewer, operator", key, t.Role)
		}
	}
	for _, u := range sortedKeys(a.BasicAuthRoles) {
		if !validRole(a.BasicAuthRoles[u]) {
			errs.add("http.auth.basic_auth_roles.%s: %q is not one of viewer, operator", u, a.BasicAuthRoles[u])
		}
	}
	for i, c := range a.ClientCerts {
		key := fmt.Sprintf("http.auth.client_certs[%d]", i)
		if (c.CN == "") == (c.Subject == "") {
			errs.add("%s: set exactly one of cn, subject", key)
		}
		if !validRole(c.Role) {
			errs.add("%s.role: %q is not one of viewer, operator", key, c.Role)
		}
	}
	if a.AWS != nil {
		errs = append(errs, a.AWS.validate()...)
	}
	for i, p := range a.TrustedProxies {
		if _, err := ParseProxy(p); err != nil {
			errs.add("http.auth.trusted_proxies[%d]: %q is not an IP address or CIDR prefix", i, p)
		}
	}
	return errs
}

func (a AWSAuth) validate() []error {
	var errs errorList
	if !serverIDRule.MatchString(a.ServerID) {
		errs.add("http.auth.aws.server_id: %q must be 1-128 letters, digits or ._:/- (required: clients sign it)", a.ServerID)
	}
	if a.Region != "" && !regionRule.MatchString(a.Region) {
		errs.add("http.auth.aws.region: %q is not an AWS region name", a.Region)
	}
	if a.STSEndpoint != "" && !strings.HasPrefix(a.STSEndpoint, "https://") && !strings.HasPrefix(a.STSEndpoint, "http://") {
		errs.add("http.auth.aws.sts_endpoint: %q is not an http(s) URL", a.STSEndpoint)
	}
	if len(a.Roles) == 0 {
		errs.add("http.auth.aws.roles: at least one ARN pattern is required")
	}
	for i, r := range a.Roles {
		key := fmt.Sprintf("http.auth.aws.roles[%d]", i)
		if !strings.HasPrefix(r.ARN, "arn:") {
			errs.add("%s.arn: %q is not an ARN pattern", key, r.ARN)
		} else if _, err := path.Match(r.ARN, ""); err != nil {
			errs.add("%s.arn: %q: %v", key, r.ARN, err)
		}
		if !validRole(r.Role) {
			errs.add("%s.role: %q is not one of viewer, operator", key, r.Role)
		}
	}
	return errs
}

var regionRule = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)

// ParseProxy parses a trusted proxy: an address or a CIDR prefix.
func ParseProxy(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// check reads the token files as the daemon does at start.
func (a HTTPAuth) check(env Env) []error {
	var errs errorList
	for i, t := range a.Tokens {
		if t.File == "" {
			continue
		}
		b, err := env.ReadFile(t.File)
		switch {
		case err != nil:
			errs.add("http.auth.tokens[%d].file: %s: %v", i, t.File, pathErr(err))
		case len(strings.TrimSpace(string(b))) < 16:
			errs.add("http.auth.tokens[%d].file: %s holds fewer than 16 characters (use a long random token)", i, t.File)
		}
	}
	return errs
}
