package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/collectors/baselines"
	"github.com/driftd/driftd/collectors/datasync"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/drift/defaultpolicy"
	"github.com/driftd/driftd/internal/awsclients"
	"github.com/driftd/driftd/internal/config"
)

// generation is what one configuration turns into: everything a scan or an
// engine needs that the configuration decides. A reload builds a new one
// and swaps it in atomically; a running scan finishes on its own.
type generation struct {
	cfg *config.Config
	// clients are this generation's AWS clients, the only ones the daemon
	// and its engines use while it runs.
	clients       *awsclients.Clients
	policy        *drift.CompiledPolicy
	policyVersion string
	rules         []drift.Rule
	chain         *collectors.Chain
	// dataSync reads inventory from Resource Data Sync objects (nil: the
	// SSM API). Its memory of unchanged objects outlives the generation
	// while the location stays the same.
	dataSync *datasync.Collector
}

// build turns a configuration into a generation: policy compiled, AWS
// clients built, baseline sources opened, inventory source chosen. prev is
// the running generation (nil at start).
func (d *Daemon) build(ctx context.Context, cfg *config.Config, prev *generation) (*generation, error) {
	pol := drift.Policy{
		MaxInventoryAge: cfg.Inventory.MaxAge,
		DefaultSeverity: cfg.Policy.DefaultSeverity,
		Rules:           policyRules(cfg),
		Custom:          cfg.Policy.Custom,
	}
	cp, err := drift.CompilePolicy(&pol)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	rt := &generation{cfg: cfg, policy: cp, policyVersion: policyVersionOf(&pol, drift.NormalizationVersion), rules: pol.Rules}
	awsCfg, err := awsclients.Load(ctx, awsclients.Options{AWS: cfg.AWS, Base: d.opts.AWS, Attempts: &d.attempts})
	if err != nil {
		return nil, err
	}
	rt.clients = awsclients.New(awsCfg)
	// Baseline sources share the generation's clients: credentials,
	// endpoints, retryer, rate limits and API-call metrics.
	rec := collectorRecorder{d.metrics}
	srcs, err := baselines.Build(cfg.Baselines, baselines.Clients{S3: rt.clients.S3, SSM: rt.clients.SSM, ImageBuilder: rt.clients.ImageBuilder},
		d.log, rec, d.now)
	if err != nil {
		return nil, err
	}
	rt.chain = &collectors.Chain{Sources: srcs, Recorder: rec}
	if cfg.Inventory.UsesDataSync() {
		loc := dataSyncLocation(cfg, awsCfg.Region)
		if prev != nil && prev.dataSync != nil && prev.dataSync.Loc == loc {
			rt.dataSync = prev.dataSync.WithClient(rt.clients.S3)
		} else {
			rt.dataSync = datasync.New(rt.clients.S3, loc)
		}
	}
	return rt, nil
}

// policyRules layers the configured rules over the shipped default policy
// (drift/defaultpolicy: known self-mutators such as the SSM agent), which
// comes last so any operator rule that matches first wins.
func policyRules(cfg *config.Config) []drift.Rule {
	rules := append([]drift.Rule(nil), cfg.Policy.Rules...)
	if cfg.Policy.DefaultPolicyIncluded() {
		rules = append(rules, defaultpolicy.Rules()...)
	}
	return rules
}

// policyVersionOf identifies a policy together with the engine's
// normalisation rules: a verdict stored by a driftd that normalised packages
// differently (e.g. before amd64 and x86_64 were one architecture) is not
// reused after an upgrade, even when the inventory has not changed since.
func policyVersionOf(pol *drift.Policy, normalization int) string {
	h := sha256.New()
	_ = json.NewEncoder(h).Encode(pol)
	fmt.Fprintf(h, "normalization %d\n", normalization)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// policyVersionAt identifies the policy as evaluated at now: the
// configuration's policy plus which rules have expired by then, so a verdict
// computed before a rule (an exemption, an ignore) expired is not reused
// after it.
func (rt *generation) policyVersionAt(now time.Time) string {
	h := sha256.New()
	h.Write([]byte(rt.policyVersion))
	for _, r := range rt.rules {
		if !r.Expires.IsZero() && !now.Before(r.Expires) {
			h.Write([]byte{0})
			h.Write([]byte(r.ID))
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// selection is the configured instance selection, restricted to only when
// it is not empty.
func (rt *generation) selection(only []string) collectors.Selection {
	s := rt.cfg.Selection
	return collectors.Selection{Tags: s.Tags, ASGNames: s.ASGNames, IncludeStandalone: s.IncludeStandalone, InstanceIDs: only}
}

func (rt *generation) discovery(rec collectors.Recorder) *collectors.Discovery {
	return &collectors.Discovery{EC2: rt.clients.EC2, AutoScaling: rt.clients.AutoScaling, SSM: rt.clients.SSM, Recorder: rec}
}

func (rt *generation) inventory() *collectors.Inventory {
	return &collectors.Inventory{SSM: rt.clients.SSM, MaxPages: rt.cfg.Inventory.MaxPages}
}
