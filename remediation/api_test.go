package remediation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/config"
)

func TestAPIApprovals(t *testing.T) {
	var clockMu sync.Mutex
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	e := NewEngine(Options{Config: config.Remediation{Approvals: config.RemediationApprovals{TTL: 2 * time.Hour}}, Executor: &DryRun{}, Now: clock})
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	do := func(method, path, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewBufferString(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		return resp.StatusCode, buf.Bytes()
	}
	code, body := do("POST", "/api/v1/approvals", `{"instance_id":"i-0123456789abcdef0","ttl":"1h","by":"alice"}`)
	var a Approval
	if code != 201 || json.Unmarshal(body, &a) != nil || !a.Expires.Equal(clock().Add(time.Hour)) || a.By != "alice" {
		t.Fatalf("approve: %d %s", code, body)
	}
	// TTL above approvals.ttl is capped.
	code, body = do("POST", "/api/v1/approvals", `{"instance_id":"i-0fedcba9876543210","ttl":"48h"}`)
	if code != 201 || json.Unmarshal(body, &a) != nil || !a.Expires.Equal(clock().Add(2*time.Hour)) {
		t.Fatalf("capped approve: %d %s", code, body)
	}
	for _, bad := range []string{`{"instance_id":"web-1"}`, `{"instance_id":"i-0123456789abcdef0","ttl":"soon"}`, `{"instance":"x"}`, `not json`} {
		if code, body = do("POST", "/api/v1/approvals", bad); code != 400 {
			t.Errorf("%s: %d %s", bad, code, body)
		}
	}
	code, body = do("GET", "/api/v1/approvals", "")
	var list []Approval
	if code != 200 || json.Unmarshal(body, &list) != nil || len(list) != 2 {
		t.Fatalf("list: %d %s", code, body)
	}
	if code, _ = do("DELETE", "/api/v1/approvals/i-0123456789abcdef0", ""); code != 204 {
		t.Errorf("revoke: %d", code)
	}
	if code, _ = do("DELETE", "/api/v1/approvals/i-0123456789abcdef0", ""); code != 404 {
		t.Errorf("second revoke: %d", code)
	}
	// Expiry.
	clockMu.Lock()
	now = now.Add(3 * time.Hour)
	clockMu.Unlock()
	if got := e.Approvals(); len(got) != 0 {
		t.Errorf("expired approvals listed: %+v", got)
	}
	// Breaker reset and status: only a breaker the engine knows.
	if code, body = do("POST", "/api/v1/remediation/breakers/reset", `{"scope":"web-1"}`); code != 404 {
		t.Errorf("reset of a group never planned: %d %s", code, body)
	}
	if st := e.Status(); st.History["web-1"].Override {
		t.Error("unknown scope reset anyway")
	}
	e.mu.Lock()
	e.breakers["web-1"] = false // planned once
	e.mu.Unlock()
	if code, body = do("POST", "/api/v1/remediation/breakers/reset", `{"scope":"web-1"}`); code != 200 {
		t.Errorf("reset: %d %s", code, body)
	}
	if code, _ = do("POST", "/api/v1/remediation/breakers/reset", `{"scope":""}`); code != 400 {
		t.Errorf("empty scope accepted: %d", code)
	}
	code, body = do("GET", "/api/v1/remediation", "")
	var st Status
	if code != 200 || json.Unmarshal(body, &st) != nil || !st.History["web-1"].Override {
		t.Errorf("status: %d %s", code, body)
	}
}

func TestCycleWithoutClientsFailsClosed(t *testing.T) {
	e := NewEngine(Options{})
	if _, err := e.Cycle(t.Context(), []InstanceState{{ID: "i-0123456789abcdef0", ASG: "g"}}); err == nil {
		t.Fatal("cycle without clients succeeded")
	}
	if st := e.Status(); st.LastError == "" || st.LastPlan != nil {
		t.Errorf("status after a failed cycle: %+v", st)
	}
}

func TestAPIBoundsInput(t *testing.T) {
	e := NewEngine(Options{Config: config.Remediation{Approvals: config.RemediationApprovals{TTL: time.Hour}}, Executor: &DryRun{}})
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	post := func(path, body string) int {
		t.Helper()
		resp, err := http.Post(srv.URL+path, "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	long := strings.Repeat("x", MaxFieldBytes+1)
	for _, c := range []struct{ path, body string }{
		{"/api/v1/approvals", `{"instance_id":"i-0123456789abcdef0","by":"` + long + `"}`},
		{"/api/v1/approvals", `{"instance_id":"i-0123456789abcdef0","by":"a\u0000b"}`},
		{"/api/v1/approvals", `{"instance_id":"i-0123456789abcdef0","ttl":"` + long + `"}`},
		{"/api/v1/approvals", `{"instance_id":"i-0123456789abcdef0"} {"instance_id":"i-0fedcba9876543210"}`},
		{"/api/v1/approvals", `{"instance_id":"i-0123456789abcdef0","admin":true}`},
		{"/api/v1/remediation/breakers/reset", `{"scope":"` + long + `"}`},
		{"/api/v1/remediation/breakers/reset", `{"scope":"nosuch"}`},
	} {
		if code := post(c.path, c.body); code < 400 || code > 499 {
			t.Errorf("%s %.80s: %d, want 4xx", c.path, c.body, code)
		}
	}
	if n := len(e.Approvals()); n != 0 {
		t.Fatalf("%d approvals after refused requests", n)
	}
	if e.Status().History["nosuch"].Override {
		t.Fatal("unknown breaker reset")
	}
	// Outstanding approvals are capped; re-approving one still works.
	for i := range MaxApprovals {
		if code := post("/api/v1/approvals", fmt.Sprintf(`{"instance_id":"i-%017x"}`, i)); code != 201 {
			t.Fatalf("approval %d: %d", i, code)
		}
	}
	if code := post("/api/v1/approvals", `{"instance_id":"i-0fffffffffffffff0"}`); code != http.StatusConflict {
		t.Errorf("approval beyond MaxApprovals: %d, want 409", code)
	}
	if code := post("/api/v1/approvals", fmt.Sprintf(`{"instance_id":"i-%017x"}`, 7)); code != 201 {
		t.Errorf("re-approval at the cap: %d", code)
	}
	if n := len(e.Approvals()); n != MaxApprovals {
		t.Errorf("%d approvals, want %d", n, MaxApprovals)
	}
}
