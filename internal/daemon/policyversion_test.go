package daemon

import (
	"testing"

	"github.com/driftd/driftd/drift"
)

// The policy version that guards verdict reuse changes with the engine's
// normalisation rules, so a driftd upgrade that changes them re-judges every
// instance instead of replaying verdicts computed under the old rules.
func TestPolicyVersionIncludesNormalization(t *testing.T) {
	pol := &drift.Policy{Rules: []drift.Rule{{ID: "r", Name: "amazon-ssm-agent", Action: drift.ActionAllowUpgrade}}}
	cur := policyVersionOf(pol, drift.NormalizationVersion)
	if cur != policyVersionOf(pol, drift.NormalizationVersion) {
		t.Fatal("policy version is not deterministic")
	}
	if prev := policyVersionOf(pol, drift.NormalizationVersion-1); prev == cur {
		t.Errorf("normalization %d and %d share policy version %s", drift.NormalizationVersion-1, drift.NormalizationVersion, cur)
	}
	other := &drift.Policy{Rules: []drift.Rule{{ID: "r", Name: "amazon-ssm-agent", Action: drift.ActionIgnore}}}
	if policyVersionOf(other, drift.NormalizationVersion) == cur {
		t.Error("different policies share a version")
	}
}
