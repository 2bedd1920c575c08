package remediation_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/remediation"
)

// TestEKSNodeGroupNotReplaced: an Auto Scaling group of an EKS managed node
// group (tagged eks:nodegroup-name, propagated to its instances) in replace
// mode with drifted members: the drift is reported and flagged, nothing is
// replaced, the skips and the metric say why. Allowing eks replaces them.
func TestEKSNodeGroupNotReplaced(t *testing.T) {
	e := newEnvWith(t, 10, func(g *awssim.GroupSpec) {
		g.TagMap = map[string]string{"eks:nodegroup-name": "web-ng", "eks:cluster-name": "prod"}
	})
	ids := e.drift(2)
	eng := e.engine(replaceConfig())
	e.run(eng, 8, func(i int, p remediation.PlanResult) {
		if len(p.Actions) != 0 {
			t.Fatalf("cycle %d acted on an EKS node group: %+v", i, p.Actions)
		}
		if i < 1 { // debounce_scans 2: not candidates yet
			return
		}
		var skipped []string
		for _, s := range p.Skipped {
			if s.Reason != remediation.SkipForeignController || !strings.Contains(s.Detail, `eks:nodegroup-name="web-ng"`) {
				t.Errorf("cycle %d: skip %+v", i, s)
			}
			skipped = append(skipped, s.InstanceID)
		}
		slices.Sort(skipped)
		if !slices.Equal(skipped, ids) {
			t.Errorf("cycle %d: skipped %v, want %v", i, skipped, ids)
		}
	}, nil)
	for k, n := range e.mutatingCalls() {
		if k != "ec2:CreateTags" {
			t.Errorf("mutating call %s x%d on an EKS node group", k, n)
		}
	}
	for _, id := range ids {
		v, _ := e.sim.Instance(id)
		if v.Tags[drift.TagStatus] != "drifted" {
			t.Errorf("%s not flagged: %v", id, v.Tags)
		}
	}
	if v := metricValue(t, e.reg, "driftd_remediation_blocked", map[string]string{"asg": "web-asg", "reason": string(remediation.SkipForeignController)}); v != 2 {
		t.Errorf("driftd_remediation_blocked{reason=managed_by_other_controller} = %v, want 2", v)
	}
	g, _ := e.sim.Group("web-asg")
	if g.Desired != 10 || len(g.Members) != 10 {
		t.Errorf("group changed: desired %d, %d members", g.Desired, len(g.Members))
	}

	// The operator opts in for this group: the two are replaced.
	c := replaceConfig()
	c.Groups[0].ForeignControllers.Allow = []string{config.ForeignControllerEKS}
	allowed := e.engine(c)
	e.run(allowed, 200, nil, func() bool {
		for _, m := range e.members() {
			if e.drifted[m.ID] || m.Lifecycle != "InService" {
				return false
			}
		}
		return len(allowed.Status().InFlight) == 0
	})
	if n := len(e.calls("autoscaling", "SetInstanceHealth")); n != 2 {
		t.Errorf("%d replacements after allowing eks, want 2", n)
	}
}

// TestForeignControllerLists keeps the controllers the gate knows, the names
// the configuration accepts and the tags discovery keeps in step.
func TestForeignControllerLists(t *testing.T) {
	var names, keys []string
	for _, fc := range remediation.ForeignControllers {
		names = append(names, fc.Name)
		keys = append(keys, fc.TagKeys...)
	}
	slices.Sort(names)
	if !slices.Equal(names, config.ForeignControllerNames) {
		t.Errorf("remediation.ForeignControllers %v, config.ForeignControllerNames %v", names, config.ForeignControllerNames)
	}
	if !slices.Equal(keys, collectors.ForeignControllerTagKeys) {
		t.Errorf("remediation.ForeignControllers tags %v, collectors.ForeignControllerTagKeys %v", keys, collectors.ForeignControllerTagKeys)
	}
}
