package ui

import (
	"fmt"
	"time"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/state"
)

// Chart geometry (SVG user units).
const (
	chartW, chartH = 640.0, 140.0
	plotX, plotY   = 44.0, 10.0
	plotW, plotH   = chartW - plotX - 8, chartH - plotY - 26
	minBarH        = 3.0
)

// chart is an instance's drift-gap chart: one band per timeline segment,
// from a point to the next (the last to now), its height the number of
// findings while drifted.
type chart struct {
	W, H          float64
	PlotX, PlotY  float64
	PlotW, PlotH  float64
	Bands         []band
	MaxFindings   int
	From, To      string // axis labels
	Drifted       string // share of the time drifted, "37%"
	Summary       string // text alternative
	BottomY, MidY float64
	MidLabel      int
	HasMid        bool
	AxisLabelY    float64
	ToX           float64
}

type band struct {
	X, Y, W, H float64
	Verdict    drift.Verdict
	Title      string
}

// newChart lays out the timeline up to now (nil without points).
func newChart(tl []state.Point, now time.Time) *chart {
	if len(tl) == 0 {
		return nil
	}
	start := tl[0].At
	end := now
	if !end.After(start) {
		end = start.Add(time.Minute)
	}
	span := end.Sub(start).Seconds()
	maxF := 1
	for _, p := range tl {
		maxF = max(maxF, p.Findings)
	}
	c := &chart{W: chartW, H: chartH, PlotX: plotX, PlotY: plotY, PlotW: plotW, PlotH: plotH, MaxFindings: maxF,
		From: fmtTime(start), To: fmtTime(end), BottomY: plotY + plotH, AxisLabelY: chartH - 8, ToX: plotX + plotW}
	if maxF >= 2 {
		c.HasMid, c.MidLabel = true, maxF/2
		c.MidY = plotY + plotH - plotH*float64(maxF/2)/float64(maxF)
	}
	var drifted time.Duration
	for i, p := range tl {
		segEnd := end
		if i+1 < len(tl) {
			segEnd = tl[i+1].At
		}
		if segEnd.Before(p.At) { // a damaged or reordered timeline: skip the segment
			continue
		}
		x0 := plotX + plotW*p.At.Sub(start).Seconds()/span
		x1 := plotX + plotW*segEnd.Sub(start).Seconds()/span
		b := band{X: x0, W: max(x1-x0, 1), Verdict: p.Verdict}
		switch p.Verdict {
		case drift.VerdictDrifted:
			drifted += segEnd.Sub(p.At)
			b.H = max(minBarH, plotH*float64(p.Findings)/float64(maxF))
			b.Title = fmt.Sprintf("%s – %s: drifted, %d findings, %s", fmtTime(p.At), fmtTime(segEnd), p.Findings, p.Severity)
		case drift.VerdictInSync, drift.VerdictExempt:
			b.H = minBarH
			b.Title = fmt.Sprintf("%s – %s: %s", fmtTime(p.At), fmtTime(segEnd), p.Verdict)
		default: // not judged: the whole height, lightly, so the gap in knowledge shows
			b.H = plotH
			b.Title = fmt.Sprintf("%s – %s: %s (not judged)", fmtTime(p.At), fmtTime(segEnd), p.Verdict)
		}
		b.Y = plotY + plotH - b.H
		c.Bands = append(c.Bands, b)
	}
	c.Drifted = fmt.Sprintf("%.0f%%", 100*drifted.Seconds()/span)
	c.Summary = fmt.Sprintf("%d verdict changes from %s to %s; drifted %s of the time; at most %d findings.",
		len(tl), c.From, c.To, c.Drifted, maxF)
	return c
}
