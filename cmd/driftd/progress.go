package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/driftd/driftd/scan"
)

// Progress display of driftd scan on stderr: a live bar redrawn in place
// on a terminal, a plain line now and then otherwise.
const (
	barRedraw  = 200 * time.Millisecond
	plainEvery = 10 * time.Second
	barWidth   = 24
)

// progressSource is the running scan's progress (*daemon.Daemon).
type progressSource interface {
	Progress() (scan.Progress, bool)
}

// progressOut says where and how driftd scan shows progress: nil writer
// for none (--quiet).
type progressOut struct {
	w     io.Writer
	tty   bool
	width int           // terminal columns (0: unknown)
	every time.Duration // between draws (0: barRedraw on a terminal, plainEvery otherwise)
}

// stderrProgress is the display for stderr: a bar when it is a terminal.
func stderrProgress(quiet bool) progressOut {
	if quiet {
		return progressOut{}
	}
	fd := int(os.Stderr.Fd())
	if !term.IsTerminal(fd) {
		return progressOut{w: os.Stderr}
	}
	w, _, err := term.GetSize(fd)
	if err != nil {
		w = 0
	}
	return progressOut{w: os.Stderr, tty: true, width: w}
}

// watch shows src's progress until stop is closed, then clears the bar.
// done is closed when watch has returned.
func (o progressOut) watch(src progressSource, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	if o.w == nil {
		return
	}
	every := o.every
	switch {
	case every > 0:
	case o.tty:
		every = barRedraw
	default:
		every = plainEvery
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	drawn := false
	for {
		select {
		case <-stop:
			if drawn {
				fmt.Fprint(o.w, "\r\x1b[K")
			}
			return
		case <-tick.C:
			p, ok := src.Progress()
			if !ok {
				continue
			}
			if o.tty {
				fmt.Fprint(o.w, "\r\x1b[K"+fit(progressBar(p), o.width))
				drawn = true
			} else {
				fmt.Fprintln(o.w, "driftd: "+progressLine(p))
			}
		}
	}
}

// fit cuts s to the terminal's width (a wrapped line could not be
// redrawn in place).
func fit(s string, width int) string {
	if width <= 1 || len([]rune(s)) < width {
		return s
	}
	return string([]rune(s)[:width-1])
}

// progressBar is the one-line live display.
func progressBar(p scan.Progress) string {
	filled := int(p.Fraction()*barWidth + 0.5)
	bar := "[" + strings.Repeat("#", filled) + strings.Repeat(".", barWidth-filled) + "]"
	return fmt.Sprintf("%s %s %s", p.Phase, bar, progressFacts(p))
}

// progressLine is the periodic plain line.
func progressLine(p scan.Progress) string {
	return fmt.Sprintf("scan %d %s: %s, %s elapsed", p.ID, p.Phase, progressFacts(p), p.Elapsed.Round(time.Second))
}

func progressFacts(p scan.Progress) string {
	total := "?"
	if p.Discovered > 0 || p.Phase != scan.PhaseDiscovering {
		total = fmt.Sprint(p.Discovered)
	}
	s := fmt.Sprintf("%d/%s instances, %d API calls", p.Compared, total, p.APICalls)
	if p.Throttled > 0 {
		s += fmt.Sprintf(", %d throttled", p.Throttled)
	}
	if p.ThrottleWait > 0 {
		s += fmt.Sprintf(", %s rate-limit wait", p.ThrottleWait.Round(100*time.Millisecond))
	}
	if p.ETA > 0 {
		s += fmt.Sprintf(", ETA %s", p.ETA.Round(time.Second))
	}
	return s
}
