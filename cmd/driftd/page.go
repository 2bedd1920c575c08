package main

import (
	"github.com/driftd/driftd/internal/daemon"
	"github.com/driftd/driftd/internal/ui"
	"github.com/driftd/driftd/remediation"
)

// mountPage serves the operator page (internal/ui) at / on the daemon's
// HTTP server, reading the daemon's state and scans and, when one runs,
// the remediation engine. Call it before Run.
func mountPage(d *daemon.Daemon, rem *remediation.Engine) error {
	o := ui.Options{Fleet: d.State(), Scans: d}
	if rem != nil {
		o.Remediation = rem
	}
	h, err := ui.New(o)
	if err != nil {
		return err
	}
	d.Handle("/", h)
	return nil
}
