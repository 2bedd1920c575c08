package daemon

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/awssim"
)

// randomFleet draws a mixed fleet: 2–5 groups of random kinds (repeats
// allowed) with 1–4 members each, 55–130 packages per AMI (AWS:Application
// keeps two pages or more after two removals, so paging faults bite), and
// on about a third of the members one or two random drifts the member's
// baseline can see: a package installed, removed or upgraded (any AMI), a file changed
// or a service stopped (Amazon Linux AMIs, whose native baselines carry
// files and services; the SBOMs list packages only).
func randomFleet(r *rand.Rand) mixedFleet {
	m := mixedFleet{pkgs: 55 + r.IntN(76)}
	groups := 2 + r.IntN(4)
	for range groups {
		m.kinds = append(m.kinds, r.IntN(len(mixedKinds)))
		m.size = append(m.size, 1+r.IntN(4))
	}
	amis := m.amiSpecs()
	for g, ki := range m.kinds {
		k := mixedKinds[ki]
		spec := amis[k.ami]
		gen := spec.Generate
		pkgs := awssim.GeneratePackagesFor(gen.Count, gen.Seed, gen.Format, gen.Dist)
		deb := gen.Format == "deb"
		for idx := range m.size[g] {
			if r.IntN(3) != 0 {
				continue
			}
			used := map[string]bool{}
			for n := 1 + r.IntN(2); n > 0; n-- {
				d, finding := randomDrift(r, deb, pkgs, spec)
				if used[finding] {
					continue // one drift per thing: a second would overwrite the first
				}
				used[finding] = true
				m.drifts = append(m.drifts, memberDrift{g: g, idx: idx, drift: d, finding: finding})
			}
		}
	}
	return m
}

func randomDrift(r *rand.Rand, deb bool, pkgs []awssim.PackageSpec, ami awssim.AMISpec) (awssim.Drift, string) {
	choices := 3
	if !deb {
		choices = 5 // native baselines: files and services too
	}
	p := pkgs[r.IntN(len(pkgs))]
	for p.Name == "amazon-ssm-agent" || strings.HasPrefix(p.Name, "kernel") {
		// the default policy allows agent upgrades; kernels install beside
		// each other: neither is plain drift
		p = pkgs[r.IntN(len(pkgs))]
	}
	switch c := r.IntN(choices); {
	case c == 0:
		name := fmt.Sprintf("prop-extra-%d", r.IntN(1000))
		spec := awssim.PackageSpec{Name: name, Version: "1.0", Release: "1.amzn2023"}
		if deb {
			spec = awssim.PackageSpec{Name: name, Version: "1.0-1"}
		}
		return awssim.Drift{Action: awssim.DriftInstall, Package: &spec}, name
	case c == 1:
		return awssim.Drift{Action: awssim.DriftRemove, Package: &awssim.PackageSpec{Name: p.Name}}, p.Name
	case c == 2:
		spec := awssim.PackageSpec{Name: p.Name, Version: "99.0", Release: "1.amzn2023"}
		if deb {
			spec = awssim.PackageSpec{Name: p.Name, Version: "99.0-1"}
		}
		return awssim.Drift{Action: awssim.DriftUpgrade, Package: &spec}, p.Name
	case c == 3 && len(ami.Files) > 0:
		f := ami.Files[r.IntN(len(ami.Files))]
		return awssim.Drift{Action: awssim.DriftFile, File: &awssim.FileSpec{Path: f.Path, SHA256: fmt.Sprintf("%064x", r.Uint64()), Size: f.Size + 1}}, f.Path
	default:
		s := ami.Services[r.IntN(len(ami.Services))]
		return awssim.Drift{Action: awssim.DriftStopService, Service: &awssim.ServiceSpec{Name: s.Name}}, s.Name
	}
}

// TestBlastRadiusProperty: over random mixed fleets with random drifts, a
// random per-instance fault on a random instance, reading inventory through
// a random source, changes that instance's verdict only (to unknown, with
// the fault's reason); everything else is judged as without the fault.
//
// The seed is random and logged; DRIFTD_BLAST_SEED=<seed> replays a run and
// DRIFTD_BLAST_ITERATIONS=<n> changes the number of fleets (default 30).
func TestBlastRadiusProperty(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("DRIFTD_BLAST_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		must(t, err)
		seed = s
	}
	iterations := envInt("DRIFTD_BLAST_ITERATIONS", 30)
	t.Logf("seed %d (replay with DRIFTD_BLAST_SEED=%d)", seed, seed)
	r := rand.New(rand.NewPCG(seed, 0xb1a57))
	faults := blastFaults()
	var e *mixedEnv // one simulated region, reloaded with each fleet
	for i := range iterations {
		m := randomFleet(r)
		s3 := r.IntN(2) == 1
		var applicable []blastFault
		for _, f := range faults {
			if f.appliesTo(s3) {
				applicable = append(applicable, f)
			}
		}
		f := applicable[r.IntN(len(applicable))]
		g := r.IntN(len(m.kinds))
		idx := r.IntN(m.size[g])
		name := fmt.Sprintf("%d/%s/%s", i, sourceName(s3), f.name)
		if e == nil {
			e = newMixedEnv(t, m)
		} else {
			e.fleet = m
			e.reload(t)
		}
		ok := t.Run(name, func(t *testing.T) {
			ref := e.scan(t, s3, f.ids)
			e.checkReference(t, ref, sourceName(s3))
			victim := e.member(t, g, idx)
			f.setup(t, e.sim, victim)
			judgedLike(t, e.scan(t, s3, f.ids), views(ref), victim, f.reason)
		})
		if !ok {
			var drifts []string
			for _, d := range m.drifts {
				drifts = append(drifts, fmt.Sprintf("g%d[%d] %s %s", d.g, d.idx, d.drift.Action, d.finding))
			}
			t.Fatalf("seed %d, iteration %d: fleet kinds %v sizes %v, %d packages, drifts %v; %s on group %d member %d (replay with DRIFTD_BLAST_SEED=%d)",
				seed, i, m.kinds, m.size, m.pkgs, drifts, f.name, g, idx, seed)
		}
	}
}
