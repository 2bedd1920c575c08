package remediation

import (
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
)

func TestHookAllow(t *testing.T) {
	var (
		mu  sync.Mutex
		got HookPayload
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var p HookPayload
		_ = json.NewDecoder(r.Body).Decode(&p)
		if r.URL.Path == "/ok" {
			mu.Lock()
			got = p
			mu.Unlock()
		}
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusNoContent)
		case "/deny":
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte("change freeze until Monday\n"))
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		}
	}))
	defer srv.Close()
	p := HookPayload{Version: HookPayloadVersion, Action: ActionSetInstanceHealth, Group: "web", InstanceID: "i-0123456789abcdef0", Severity: "high", Reason: "r"}
	cases := []struct {
		path   string
		ok     bool
		reason string
	}{
		{"/ok", true, ""},
		{"/deny", false, "hook answered 403: change freeze until Monday"},
		{"/slow", false, "hook did not answer within 300ms"},
		{"/redirect", false, "hook answered 302"},
	}
	for _, tc := range cases {
		// Long enough for a loaded CI machine to answer /ok, short enough
		// that /slow (2 s) times out.
		h := &Hook{URL: srv.URL + tc.path, Timeout: 300 * time.Millisecond}
		ok, reason := h.Allow(context.Background(), p)
		if ok != tc.ok || !strings.HasPrefix(reason, tc.reason) {
			t.Errorf("%s: got %v %q, want %v %q", tc.path, ok, reason, tc.ok, tc.reason)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if got.InstanceID != p.InstanceID || got.Version != 1 || got.Action != ActionSetInstanceHealth {
		t.Errorf("payload not received intact: %+v", got)
	}
	// Unreachable: vetoes, and the URL (which may carry a token) is not in the reason.
	h := &Hook{URL: "http://127.0.0.1:1/secret-token", Timeout: time.Second}
	ok, reason := h.Allow(context.Background(), p)
	if ok || strings.Contains(reason, "secret-token") {
		t.Errorf("unreachable hook: %v %q", ok, reason)
	}
	// No hook: allowed.
	if ok, _ := (*Hook)(nil).Allow(context.Background(), p); !ok {
		t.Error("nil hook vetoed")
	}
}

func TestKillSwitchFileAndConfig(t *testing.T) {
	dir := t.TempDir()
	stop := filepath.Join(dir, "STOP")
	cfg := func(enabled bool) config.Remediation {
		c := config.Remediation{KillSwitch: config.RemediationKill{Enabled: enabled, File: &stop, SSMParameter: ptr("")}}
		c.ApplyDefaults()
		return c
	}
	k := &KillSwitchReader{}
	if ks := k.Read(context.Background(), cfg(false)); ks.Engaged {
		t.Fatalf("engaged without a source: %+v", ks)
	}
	if ks := k.Read(context.Background(), cfg(true)); !ks.Engaged || ks.Source != "config" {
		t.Errorf("config flag: %+v", ks)
	}
	if err := os.WriteFile(stop, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if ks := k.Read(context.Background(), cfg(false)); !ks.Engaged || ks.Source != "file" {
		t.Errorf("file: %+v", ks)
	}
	// A stat error other than not-exist fails closed.
	k = &KillSwitchReader{Stat: func(string) (fs.FileInfo, error) { return nil, fs.ErrPermission }}
	if ks := k.Read(context.Background(), cfg(false)); !ks.Engaged || !strings.Contains(ks.Detail, "cannot check") {
		t.Errorf("stat error: %+v", ks)
	}
}

func TestParseSwitchValue(t *testing.T) {
	for v, want := range map[string][2]bool{
		"true": {true, true}, "ON": {true, true}, "stop": {true, true}, " 1 ": {true, true},
		"false": {false, true}, "off": {false, true}, "": {false, true}, "released": {false, true},
		"maybe": {true, false},
	} {
		e, k := parseSwitchValue(v)
		if e != want[0] || k != want[1] {
			t.Errorf("%q: engaged=%v known=%v, want %v", v, e, k, want)
		}
	}
}

func TestInFlightTagRoundTrip(t *testing.T) {
	at := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	recs := []InFlight{
		{Group: "g", InstanceID: "i-0123456789abcdef0", Kind: ActionSetInstanceHealth, Started: at},
		{Group: "g", InstanceID: "i-0fedcba9876543210", Kind: ActionSetInstanceHealth, Started: at.Add(time.Minute)},
		{Group: "g", Kind: ActionInstanceRefresh, RefreshID: "0a1b2c3d-1111-2222-3333-444455556666", Started: at},
	}
	v := formatInFlight(append(recs, recs[0], recs[1])[:5])
	if len(v) > 256 {
		t.Errorf("in-flight tag value too long for 5 entries: %d", len(v))
	}
	back, errs := parseInFlight("g", formatInFlight(recs), ActionSetInstanceHealth)
	if len(errs) != 0 || len(back) != 3 {
		t.Fatalf("round trip: %v %v", back, errs)
	}
	_, errs = parseInFlight("g", "i-1@notatime,,junk", ActionSetInstanceHealth)
	if len(errs) != 2 {
		t.Errorf("malformed entries not reported: %v", errs)
	}
	h, ok := parseFailures(formatFailures(GroupHistory{ConsecutiveFailures: 2, LastFailure: at}))
	if !ok || h.ConsecutiveFailures != 2 || !h.LastFailure.Equal(at) {
		t.Errorf("failures round trip: %+v %v", h, ok)
	}
}

func FuzzParseInFlight(f *testing.F) {
	for _, s := range []string{"", "i-0123456789abcdef0@2026-06-10T12:00:00Z", "refresh:abc@2026-06-10T12:00:00Z,i-1@x", ",,,", "@", "i-1@2026-06-10T12:00:00+02:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		recs, _ := parseInFlight("g", s, ActionTerminate)
		for _, r := range recs {
			if r.Group != "g" || (r.InstanceID == "" && r.RefreshID == "" && r.Kind != ActionInstanceRefresh) || r.Started.IsZero() {
				t.Fatalf("bad record from %q: %+v", s, r)
			}
		}
	})
}

func FuzzProtected(f *testing.F) {
	for _, s := range []string{"true", "TRUE", "false", "", "2026-06-10T13:00:00Z", "tomorrow", "2026-13-01T00:00:00Z"} {
		f.Add(s)
	}
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		p, detail := protected(map[string]string{drift.TagProtect: v}, now)
		if p && detail == "" {
			t.Fatalf("protected without detail for %q", v)
		}
		// Anything that is not "false"/empty/a past time must protect (fail closed).
		if !p {
			s := strings.TrimSpace(v)
			if !strings.EqualFold(s, "false") && s != "" {
				tm, err := time.Parse(time.RFC3339, s)
				if err != nil || now.Before(tm) {
					t.Fatalf("%q did not protect", v)
				}
			}
		}
	})
}

func FuzzParseActionTag(f *testing.F) {
	for _, s := range []string{"set_instance_health@2026-06-10T12:00:00Z", "terminate@", "@", "", "x@2026-06-10T12:00:00+02:00", "a@b@c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, at, ok := parseActionTag(s)
		if ok && (at.IsZero() && !strings.Contains(s, "0001-01-01")) {
			t.Fatalf("%q parsed to zero time", s)
		}
		if ok {
			back := formatActionTag(k, at)
			if k2, at2, ok2 := parseActionTag(back); !ok2 || k2 != k || !at2.Equal(at) {
				t.Fatalf("%q does not round-trip via %q", s, back)
			}
		}
	})
}

func FuzzParseFailures(f *testing.F) {
	for _, s := range []string{"3@2026-06-10T12:00:00Z", "-1@2026-06-10T12:00:00Z", "x@y", "", "99999999999999999999@2026-06-10T12:00:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, ok := parseFailures(s)
		if ok && h.ConsecutiveFailures < 0 {
			t.Fatalf("%q parsed to negative failures", s)
		}
	})
}
