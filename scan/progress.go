package scan

import (
	"encoding/json"
	"time"
)

// Phases of a running scan, in order.
const (
	PhaseDiscovering = "discovering" // EC2, Auto Scaling, SSM agent status
	PhaseBaselines   = "baselines"   // resolving each AMI's baseline
	PhaseComparing   = "comparing"   // reading inventory and comparing, instance by instance
	PhaseRecording   = "recording"   // state, metrics, observers
)

// Progress is a running scan's progress, as the daemon counts it while the
// scan runs (a snapshot: the counters only grow until the scan ends).
type Progress struct {
	ID      int64     `json:"id"`
	Started time.Time `json:"started"`
	// Elapsed is the time since Started when the snapshot was taken.
	Elapsed time.Duration `json:"-"`
	Phase   string        `json:"phase"`
	// Partial is true for a scan of named instances only.
	Partial bool `json:"partial,omitempty"`
	// Discovered is the number of instances discovery selected (0 until
	// discovery has finished); Compared how many of them have a verdict.
	Discovered int `json:"instances_discovered"`
	Compared   int `json:"instances_compared"`
	// APICalls counts the AWS API call attempts made so far (retries
	// included); Throttled those answered with a throttling error.
	APICalls  int `json:"api_calls"`
	Throttled int `json:"throttled"`
	// ThrottleWait is the time API calls spent waiting for a slot of the
	// client-side rate limits (inventory.rate_limits), summed over calls.
	ThrottleWait time.Duration `json:"-"`
	// ETA estimates the time left to compare the remaining instances, from
	// the rate so far (0 when not known yet: before the first comparison).
	ETA time.Duration `json:"-"`
}

// Fraction is the share of discovered instances compared (0 before
// discovery has finished).
func (p Progress) Fraction() float64 {
	if p.Discovered <= 0 {
		return 0
	}
	return min(1, float64(p.Compared)/float64(p.Discovered))
}

// MarshalJSON adds the durations in seconds (elapsed_seconds,
// throttle_wait_seconds, and eta_seconds once known).
func (p Progress) MarshalJSON() ([]byte, error) {
	type plain Progress
	out := struct {
		plain
		Elapsed      float64  `json:"elapsed_seconds"`
		ThrottleWait float64  `json:"throttle_wait_seconds"`
		ETA          *float64 `json:"eta_seconds,omitempty"`
	}{plain: plain(p), Elapsed: p.Elapsed.Seconds(), ThrottleWait: p.ThrottleWait.Seconds()}
	if p.ETA > 0 {
		eta := p.ETA.Seconds()
		out.ETA = &eta
	}
	return json.Marshal(out)
}
