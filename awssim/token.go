package awssim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"strconv"
	"strings"
	"sync"
)

// tokens mints and checks opaque pagination tokens. A token carries the
// operation, a fingerprint of the request's other parameters and the offset
// of the next item, authenticated with a per-simulator key: a forged,
// truncated or replayed-with-other-parameters token is rejected the way AWS
// rejects it.
type tokens struct {
	key  []byte
	pool sync.Pool
}

func newTokens() *tokens {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	t := &tokens{key: k}
	t.pool.New = func() any { return hmac.New(sha256.New, t.key) }
	return t
}

func (t *tokens) mac(payload string) []byte {
	m := t.pool.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(payload))
	sum := m.Sum(nil)[:12]
	t.pool.Put(m)
	return sum
}

// mint returns a token for scope (operation + parameter fingerprint) and offset.
func (t *tokens) mint(scope string, offset int) string {
	p := strconv.Itoa(offset) + "|" + scope
	return base64.RawURLEncoding.EncodeToString([]byte(p)) + "." + base64.RawURLEncoding.EncodeToString(t.mac(p))
}

// check validates tok for scope and returns its offset.
func (t *tokens) check(scope, tok string) (int, bool) {
	a, b, ok := strings.Cut(tok, ".")
	if !ok {
		return 0, false
	}
	p, err := base64.RawURLEncoding.DecodeString(a)
	if err != nil {
		return 0, false
	}
	sig, err := base64.RawURLEncoding.DecodeString(b)
	if err != nil || !hmac.Equal(sig, t.mac(string(p))) {
		return 0, false
	}
	off, rest, ok := strings.Cut(string(p), "|")
	if !ok || rest != scope {
		return 0, false
	}
	n, err := strconv.Atoi(off)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}
