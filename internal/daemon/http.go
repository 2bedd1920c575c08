package daemon

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/state"
)

// Handler returns the HTTP API: /metrics, /-/healthy, /-/ready,
// POST /-/reload, /api/v1/instances[/{id}], /api/v1/scan.
func (a *Daemon) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{Registry: a.reg}))
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("OK\n"))
	})
	mux.HandleFunc("GET /-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !a.Ready() {
			http.Error(w, "not ready: no successful scan yet", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("OK\n"))
	})
	mux.HandleFunc("POST /-/reload", func(w http.ResponseWriter, r *http.Request) {
		if err := a.Reload(r.Context()); err != nil {
			http.Error(w, "reload failed: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write([]byte("OK\n"))
	})
	mux.HandleFunc("GET /api/v1/instances", a.listInstances)
	mux.HandleFunc("GET /api/v1/instances/{id}", a.getInstance)
	mux.HandleFunc("GET /api/v1/scan", a.getScan)
	a.obsMu.RLock()
	extra := a.extraMux
	a.obsMu.RUnlock()
	if extra != nil {
		mux.Handle("/", extra)
	}
	return mux
}

// InstanceSummary is one row of /api/v1/instances.
type InstanceSummary struct {
	InstanceID         string         `json:"instance_id"`
	ASG                string         `json:"asg,omitempty"`
	AMI                string         `json:"ami"`
	Verdict            drift.Verdict  `json:"verdict"`
	Severity           string         `json:"severity,omitempty"`
	Reasons            []string       `json:"reasons,omitempty"`
	Findings           int            `json:"findings"`
	FindingCounts      map[string]int `json:"finding_counts,omitempty"`
	FirstDrifted       string         `json:"first_drifted,omitempty"`
	ConsecutiveDrifted int            `json:"consecutive_drifted,omitempty"`
	LastScan           string         `json:"last_scan,omitempty"`
}

func summarize(e state.Entry) InstanceSummary {
	s := InstanceSummary{InstanceID: e.InstanceID, ASG: e.ASG, AMI: e.AMI, Verdict: e.Verdict, Reasons: e.Reasons,
		Findings: e.FindingsTotal, FindingCounts: e.Counts, ConsecutiveDrifted: e.ConsecutiveDrifted}
	if e.Severity != drift.SeverityNone {
		s.Severity = e.Severity.String()
	}
	if !e.FirstDrifted.IsZero() && e.Verdict == drift.VerdictDrifted {
		s.FirstDrifted = e.FirstDrifted.UTC().Format("2006-01-02T15:04:05Z")
	}
	if !e.LastScan.IsZero() {
		s.LastScan = e.LastScan.UTC().Format("2006-01-02T15:04:05Z")
	}
	return s
}

func (a *Daemon) listInstances(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	verdicts, asgs, sev := splitQ(q["verdict"]), splitQ(q["asg"]), q.Get("severity")
	out := []InstanceSummary{}
	for _, e := range a.store.List() {
		if e.Verdict == "" {
			continue // restored from tags, not scanned yet
		}
		if len(verdicts) > 0 && !verdicts[string(e.Verdict)] || len(asgs) > 0 && !asgs[e.ASG] {
			continue
		}
		if sev != "" && e.Severity.String() != sev {
			continue
		}
		out = append(out, summarize(e))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].InstanceID < out[j].InstanceID })
	writeJSON(w, a, map[string]any{"instances": out, "count": len(out)})
}

func splitQ(v []string) map[string]bool {
	m := map[string]bool{}
	for _, s := range v {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				m[p] = true
			}
		}
	}
	return m
}

func (a *Daemon) getInstance(w http.ResponseWriter, r *http.Request) {
	e, ok := a.store.Get(r.PathValue("id"))
	if !ok || e.Verdict == "" {
		http.Error(w, "instance not found", http.StatusNotFound)
		return
	}
	writeJSON(w, a, struct {
		InstanceSummary
		TopFindings []drift.Finding `json:"top_findings,omitempty"`
		// Truncated: top_findings lists fewer than "findings" (the exact
		// total, counted by category/severity in finding_counts).
		Truncated    bool           `json:"truncated,omitempty"`
		Captures     map[string]any `json:"capture_times,omitempty"`
		BaselineVer  string         `json:"baseline_version,omitempty"`
		LaunchTplAMI string         `json:"launch_template_ami,omitempty"`
		Suppressed   int            `json:"suppressed,omitempty"`
	}{summarize(e), e.Findings, e.FindingsTotal > len(e.Findings), capturesJSON(e), e.BaselineVersion, e.LaunchTemplateAMI, e.Suppressed})
}

func capturesJSON(e state.Entry) map[string]any {
	if len(e.Captures) == 0 {
		return nil
	}
	m := make(map[string]any, len(e.Captures))
	for k, v := range e.Captures {
		m[k] = v.UTC().Format("2006-01-02T15:04:05Z")
	}
	return m
}

// getScan serves the last finished scan and, while a scan runs, its
// progress ("running": true, "progress": {...}).
func (a *Daemon) getScan(w http.ResponseWriter, _ *http.Request) {
	last := a.LastScan()
	prog, running := a.Progress()
	if last == nil && !running {
		http.Error(w, "no scan yet", http.StatusNotFound)
		return
	}
	if last == nil {
		writeJSON(w, a, map[string]any{"running": true, "progress": prog})
		return
	}
	out := map[string]any{"running": running,
		"id": last.ID, "started": last.Started, "finished": last.Finished, "duration_seconds": last.Duration.Seconds(),
		"success": last.Err == nil, "summary": last.Summary, "reused": last.Reused, "api_calls": last.APICalls,
		"groups": last.Groups, "api_cost": last.Cost, "agent_lookup": last.AgentLookup,
	}
	if len(last.InventoryTypesUnavailable) > 0 {
		out["inventory_types_unavailable"] = last.InventoryTypesUnavailable
	}
	if last.Err != nil {
		out["error"] = last.Err.Error()
	}
	if last.Interrupted {
		out["interrupted"] = true
	}
	if running {
		out["progress"] = prog
	}
	writeJSON(w, a, out)
}

func writeJSON(w http.ResponseWriter, a *Daemon, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		a.log.Debug("writing response", zap.Error(err))
	}
}
