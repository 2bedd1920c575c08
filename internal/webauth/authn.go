// Package webauth authenticates and authorises requests to driftd's HTTP
// API: TLS, client certificates and basic auth configured by a Prometheus
// exporter-toolkit web configuration file, bearer tokens read from files,
// and AWS identity proven by a presigned sts:GetCallerIdentity request
// (package awsauth). Identities get a role, viewer or operator
// (config http.auth); Gate enforces the rules on every route and writes
// every mutation, accepted or refused, to the audit log (Audit).
package webauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/webauth/awsauth"
)

// Role orders what an identity may do.
type Role int

// Roles.
const (
	RoleNone     Role = iota // anonymous, or authenticated without a role
	RoleViewer               // read-only routes
	RoleOperator             // every route
)

func (r Role) String() string {
	switch r {
	case RoleViewer:
		return config.RoleViewer
	case RoleOperator:
		return config.RoleOperator
	}
	return "none"
}

func parseRole(s string) Role {
	switch s {
	case config.RoleViewer:
		return RoleViewer
	case config.RoleOperator:
		return RoleOperator
	}
	return RoleNone
}

// Authentication methods.
const (
	MethodNone   = "none"
	MethodToken  = "token"
	MethodBasic  = "basic"
	MethodCert   = "client_certificate"
	MethodAWS    = "aws_sts"
	AWSScheme    = awsauth.Scheme // Authorization: AWS4-presigned <token>
	HeaderAWS    = "X-Driftd-AWS-Auth"
	maxAuthBytes = 16 << 10
)

// Identity is who sent a request.
type Identity struct {
	Name   string // token name, user, certificate subject or caller ARN
	Method string
	Role   Role
}

// Anonymous reports whether no credentials were presented.
func (i Identity) Anonymous() bool { return i.Method == "" || i.Method == MethodNone }

// errBadCredentials: credentials were presented and are not valid. Its
// text never contains the credentials.
type errBadCredentials struct {
	method string
	reason string
}

func (e *errBadCredentials) Error() string { return e.method + ": " + e.reason }

// Authenticator establishes identities. Build it with NewAuthenticator;
// it is immutable (a reload builds a new one).
type Authenticator struct {
	tokens     []tokenEntry
	users      map[string]string // user → bcrypt hash
	userRoles  map[string]Role
	certs      []config.CertAuth
	aws        *awsauth.Verifier
	awsRoles   []config.ARNRole
	configured bool
	readsOpen  bool

	bcryptMu sync.Mutex
	cacheMu  sync.Mutex
	cache    map[[32]byte]bool
}

type tokenEntry struct {
	name string
	hash [32]byte
	role Role
}

// NewAuthenticator builds the identities of http.auth and the web
// configuration's basic-auth users. Token files are read now. verifier may
// be nil when http.auth.aws is not set.
func NewAuthenticator(a config.HTTPAuth, w *WebConfig, verifier *awsauth.Verifier) (*Authenticator, error) {
	au := &Authenticator{users: map[string]string{}, userRoles: map[string]Role{}, certs: a.ClientCerts,
		configured: a.Configured() || (w != nil && len(w.Users) > 0), cache: map[[32]byte]bool{}}
	au.readsOpen = a.ReadsOpen() && !(a.Reads == "" && au.configured)
	for i, t := range a.Tokens {
		b, err := os.ReadFile(t.File)
		if err != nil {
			return nil, fmt.Errorf("http.auth.tokens[%d].file: %w", i, err)
		}
		tok := strings.TrimSpace(string(b))
		if len(tok) < 16 {
			return nil, fmt.Errorf("http.auth.tokens[%d].file: %s holds fewer than 16 characters", i, t.File)
		}
		au.tokens = append(au.tokens, tokenEntry{name: t.Name, hash: sha256.Sum256([]byte(tok)), role: parseRole(t.Role)})
	}
	if w != nil {
		for u, h := range w.Users {
			au.users[u] = h
			au.userRoles[u] = RoleViewer
		}
	}
	for u, r := range a.BasicAuthRoles {
		if _, ok := au.users[u]; !ok {
			return nil, fmt.Errorf("http.auth.basic_auth_roles.%s: no such user in the web configuration file's basic_auth_users", u)
		}
		au.userRoles[u] = parseRole(r)
	}
	if a.AWS != nil {
		if verifier == nil {
			return nil, errors.New("http.auth.aws: no STS verifier")
		}
		au.aws, au.awsRoles = verifier, a.AWS.Roles
	}
	return au, nil
}

// Configured reports whether any identity source exists.
func (au *Authenticator) Configured() bool { return au.configured }

// ReadsOpen reports whether read-only routes need no identity.
func (au *Authenticator) ReadsOpen() bool { return au.readsOpen }

// Authenticate returns the request's identity: anonymous when it presents
// no credentials, an error when it presents invalid ones.
func (au *Authenticator) Authenticate(ctx context.Context, r *http.Request) (Identity, error) {
	h := r.Header.Get("Authorization")
	if aws := r.Header.Get(HeaderAWS); aws != "" {
		if h != "" {
			return Identity{}, &errBadCredentials{MethodAWS, "send either Authorization or " + HeaderAWS + ", not both"}
		}
		return au.awsIdentity(ctx, aws)
	}
	if h != "" {
		if len(h) > maxAuthBytes {
			return Identity{}, &errBadCredentials{"authorization", "header too long"}
		}
		scheme, cred, _ := strings.Cut(h, " ")
		switch {
		case strings.EqualFold(scheme, "Bearer"):
			return au.tokenIdentity(strings.TrimSpace(cred))
		case strings.EqualFold(scheme, "Basic"):
			u, p, ok := r.BasicAuth()
			if !ok {
				return Identity{}, &errBadCredentials{MethodBasic, "malformed credentials"}
			}
			return au.basicIdentity(u, p)
		case strings.EqualFold(scheme, AWSScheme):
			return au.awsIdentity(ctx, strings.TrimSpace(cred))
		}
		return Identity{}, &errBadCredentials{"authorization", "unsupported scheme (Bearer, Basic or " + AWSScheme + ")"}
	}
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		return au.certIdentity(r.TLS.VerifiedChains[0][0]), nil
	}
	return Identity{Method: MethodNone}, nil
}

func (au *Authenticator) tokenIdentity(tok string) (Identity, error) {
	sum := sha256.Sum256([]byte(tok))
	var found *tokenEntry
	for i := range au.tokens { // compare with every token, in constant time
		if subtle.ConstantTimeCompare(sum[:], au.tokens[i].hash[:]) == 1 {
			found = &au.tokens[i]
		}
	}
	if found == nil {
		return Identity{}, &errBadCredentials{MethodToken, "unknown token"}
	}
	return Identity{Name: found.name, Method: MethodToken, Role: found.role}, nil
}

// fakeHash is compared against for unknown users so that timing does not
// tell which users exist (the exporter-toolkit does the same).
const fakeHash = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"

func (au *Authenticator) basicIdentity(user, pass string) (Identity, error) {
	hash, known := au.users[user]
	if !known {
		hash = fakeHash
	}
	key := sha256.Sum256([]byte(user + "\x00" + hash + "\x00" + pass))
	au.cacheMu.Lock()
	ok, cached := au.cache[key]
	au.cacheMu.Unlock()
	if !cached {
		au.bcryptMu.Lock() // bcrypt is CPU-heavy: one at a time
		ok = bcrypt.CompareHashAndPassword([]byte(hash), []byte(pass)) == nil && known
		au.bcryptMu.Unlock()
		au.cacheMu.Lock()
		if len(au.cache) >= 1024 {
			clear(au.cache)
		}
		au.cache[key] = ok
		au.cacheMu.Unlock()
	}
	if !ok || !known {
		return Identity{}, &errBadCredentials{MethodBasic, "wrong user or password"}
	}
	return Identity{Name: user, Method: MethodBasic, Role: au.userRoles[user]}, nil
}

func (au *Authenticator) certIdentity(c *x509.Certificate) Identity {
	subject := c.Subject.String()
	id := Identity{Name: subject, Method: MethodCert}
	for _, m := range au.certs {
		if m.CN != "" && m.CN == c.Subject.CommonName || m.Subject != "" && m.Subject == subject {
			id.Role = parseRole(m.Role)
			break
		}
	}
	return id
}

func (au *Authenticator) awsIdentity(ctx context.Context, cred string) (Identity, error) {
	if au.aws == nil {
		return Identity{}, &errBadCredentials{MethodAWS, "AWS identity is not configured (http.auth.aws)"}
	}
	arn, err := au.aws.Verify(ctx, cred)
	if err != nil {
		return Identity{}, &errBadCredentials{MethodAWS, err.Error()}
	}
	return Identity{Name: arn, Method: MethodAWS, Role: roleOfARN(au.awsRoles, arn)}, nil
}

// roleOfARN maps a caller ARN to the first matching pattern's role; an
// assumed-role session matches as its role ARN.
func roleOfARN(rules []config.ARNRole, arn string) Role {
	cands := []string{arn}
	if r := awsauth.RoleARN(arn); r != "" {
		cands = append(cands, r)
	}
	for _, rule := range rules {
		for _, c := range cands {
			if ok, _ := path.Match(rule.ARN, c); ok {
				return parseRole(rule.Role)
			}
		}
	}
	return RoleNone
}

// identityKey is the context key of the identity the gate authenticated.
type identityKey struct{}

// withIdentity returns ctx carrying id.
func withIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// IdentityFrom returns the identity the gate authenticated for the request
// whose context this is; false for an anonymous request or one that did not
// pass the gate.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok && !id.Anonymous()
}
