package remediation

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"
)

// An approval is recorded under the authenticated caller; the name the
// request gives is kept beside it, never instead of it.
func TestApprover(t *testing.T) {
	long := strings.Repeat("é", MaxFieldBytes)
	for _, tc := range []struct {
		actor, by, want string
	}{
		{"", "alice", "alice"}, // no gate in front (tests, embedded use)
		{"", "", ""},
		{"ops (token)", "", "ops (token)"},
		{"ops (token)", "ops (token)", "ops (token)"},
		{"ops (token)", "alice", "ops (token) (for alice)"},
	} {
		ctx := context.Background()
		if tc.actor != "" {
			ctx = WithActor(ctx, tc.actor)
		}
		if got := approver(ctx, tc.by); got != tc.want {
			t.Errorf("approver(%q, %q) = %q, want %q", tc.actor, tc.by, got, tc.want)
		}
	}
	got := approver(WithActor(context.Background(), "arn:aws:iam::123456789012:role/ops"), long[:MaxFieldBytes-1])
	if len(got) > MaxFieldBytes || !utf8.ValidString(got) || !strings.HasPrefix(got, "arn:aws:iam::123456789012:role/ops (for ") {
		t.Errorf("long name: %d bytes, valid %v: %q", len(got), utf8.ValidString(got), got)
	}
}
