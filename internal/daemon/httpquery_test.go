package daemon

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestInstanceQueryValidation: a filter value that can never match is a 400
// naming what is allowed; valid values, also comma-separated, still filter.
func TestInstanceQueryValidation(t *testing.T) {
	f := newFixture(t)
	a := f.app(t, f.config())
	if _, err := a.Scan(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"?verdict=bogus", []string{`verdict "bogus"`, "in_sync, drifted, unknown, stale, no_baseline, exempt"}},
		{"?verdict=drifted,Drifted", []string{`verdict "Drifted"`}},
		{"?verdict=in_sync&verdict=nope", []string{`verdict "nope"`}},
		{"?severity=high,urgent", []string{`severity: unknown severity "urgent" (want info, low, high or critical)`}},
	} {
		body := string(get(t, srv, "/api/v1/instances"+tc.query, 400))
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: body %q lacks %q", tc.query, body, w)
			}
		}
	}
	var list struct {
		Count int `json:"count"`
	}
	must(t, json.Unmarshal(get(t, srv, "/api/v1/instances?severity=high,critical", 200), &list))
	if list.Count != 0 {
		t.Errorf("severity=high,critical: %d instances, want 0 (nothing drifted)", list.Count)
	}
	must(t, json.Unmarshal(get(t, srv, "/api/v1/instances?verdict=in_sync,drifted", 200), &list))
	if list.Count != 7 {
		t.Errorf("verdict=in_sync,drifted: %d instances, want all 7", list.Count)
	}
	must(t, json.Unmarshal(get(t, srv, "/api/v1/instances?verdict=stale", 200), &list))
	if list.Count != 0 {
		t.Errorf("verdict=stale: %d instances, want 0", list.Count)
	}
}
