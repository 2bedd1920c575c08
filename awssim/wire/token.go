package wire

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

// b64 is strict: an altered token decodes to nothing rather than to the
// bytes of another.
var b64 = base64.RawURLEncoding.Strict()

// Tokens mints and checks opaque pagination tokens. A token carries the
// scope it was issued for (the operation and a fingerprint of the request's
// other parameters) and the offset of the next item, authenticated with a
// per-instance key: a forged, truncated or replayed-with-other-parameters
// token is rejected the way AWS rejects it.
type Tokens struct {
	key  []byte
	pool sync.Pool
}

// NewTokens returns a token minter with a fresh random key.
func NewTokens() *Tokens {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	t := &Tokens{key: k}
	t.pool.New = func() any { return hmac.New(sha256.New, t.key) }
	return t
}

func (t *Tokens) mac(payload string) []byte {
	m := t.pool.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(payload))
	sum := m.Sum(nil)[:12]
	t.pool.Put(m)
	return sum
}

// Mint returns a token for scope and offset.
func (t *Tokens) Mint(scope string, offset int) string {
	p := strconv.Itoa(offset) + "|" + scope
	return b64.EncodeToString([]byte(p)) + "." + b64.EncodeToString(t.mac(p))
}

// Check validates tok for scope and returns its offset.
func (t *Tokens) Check(scope, tok string) (int, bool) {
	a, b, ok := strings.Cut(tok, ".")
	if !ok {
		return 0, false
	}
	p, err := b64.DecodeString(a)
	if err != nil {
		return 0, false
	}
	sig, err := b64.DecodeString(b)
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

// Cursor is where a paginated listing resumes: the offset a NextToken
// carried (0 without one) and the scope the next page's token is minted
// for.
type Cursor struct {
	tok   *Tokens
	scope string
	Off   int
}

// Resume starts a paginated listing for scope: no token (or "") starts at
// the beginning; a token must have been minted for this very scope, else ok
// is false and the caller answers its protocol's invalid-token error.
func (t *Tokens) Resume(scope, token string) (c Cursor, ok bool) {
	c = Cursor{tok: t, scope: scope}
	if token == "" {
		return c, true
	}
	c.Off, ok = t.Check(scope, token)
	return c, ok
}

// Next mints the token that resumes the listing at offset off.
func (c Cursor) Next(off int) string { return c.tok.Mint(c.scope, off) }

// Page returns the page of items (sorted as the listing is) that starts at
// the cursor's offset (clamped to the end) and holds at most limit items
// (limit <= 0: all of the rest), with the NextToken of the page after it,
// "" on the last page.
func Page[T any](c Cursor, items []T, limit int) (page []T, next string) {
	off := min(c.Off, len(items))
	page = items[off:]
	if limit > 0 && len(page) > limit {
		page = page[:limit]
		next = c.Next(off + limit)
	}
	return page, next
}
