package ui

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/driftd/driftd/drift"
)

// fmtTime formats a time for the page (UTC, to the second).
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// fmtDuration rounds a duration for reading.
func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// ago is how long before now t was ("3h12m ago").
func ago(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "in " + fmtAgo(-d)
	case d < time.Second:
		return "just now"
	}
	return fmtAgo(d) + " ago"
}

func fmtAgo(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func (h *Handler) funcs() template.FuncMap {
	return template.FuncMap{
		"time":     fmtTime,
		"duration": fmtDuration,
		"ago":      func(t time.Time) string { return ago(h.o.Now(), t) },
		"severity": func(s drift.Severity) string {
			if s == drift.SeverityNone {
				return ""
			}
			return s.String()
		},
		// inventory data may hold control characters: shown escaped
		"printable":  drift.Printable,
		"join":       strings.Join,
		"groupLabel": groupLabel,
		"f1":         func(f float64) string { return fmt.Sprintf("%.1f", f) },
		"yesno": func(b bool) string {
			if b {
				return "yes"
			}
			return "no"
		},
	}
}
