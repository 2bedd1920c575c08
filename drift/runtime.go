package drift

import (
	"strconv"
	"strings"
	"time"
)

// TypeRunningState is the custom inventory type driftd's collector
// (deploy/ssm/driftd-inventory.sh) writes about what runs, not only what is
// installed: one entry with the running kernel, the boot time, whether the
// package manager waits for a reboot, and the kernel live patches applied.
const TypeRunningState = "Custom:RunningState"

// CategoryRuntime is the category of findings about the running state: a
// running kernel other than the baseline's, a pending reboot, an applied
// live patch.
const CategoryRuntime Category = "runtime"

// Attributes of the Custom:RunningState entry.
const (
	RunningStateKernel                 = "Kernel"                 // uname -r
	RunningStateBootTime               = "BootTime"               // RFC 3339 UTC
	RunningStateRebootRequired         = "RebootRequired"         // true, false or unknown
	RunningStateRebootRequiredSource   = "RebootRequiredSource"   // reboot-required-file, needs-restarting, dnf, none
	RunningStateRebootRequiredPackages = "RebootRequiredPackages" // comma separated
	RunningStateLivePatchState         = "LivePatchState"         // applied, none or unknown
	RunningStateLivePatchSource        = "LivePatchSource"        // kpatch, canonical-livepatch, sysfs, none
	RunningStateLivePatches            = "LivePatches"            // comma separated identifiers
)

// Runtime finding attributes and names.
const (
	// RuntimeKernel: the running kernel differs from the baseline's (finding
	// name "kernel").
	RuntimeKernel = "running_kernel"
	// RuntimeRebootRequired: installed packages wait for a reboot, so what
	// runs is not what is installed (finding name "system").
	RuntimeRebootRequired = "reboot_required"
	// RuntimeLivePatch: a live patch is applied to the running kernel
	// (finding name "<source>:<identifier>", e.g.
	// "kpatch:livepatch_CVE_2023_4623").
	RuntimeLivePatch = "livepatch"
)

// RunningState is a Custom:RunningState entry, parsed. A fact the instance
// could not learn (or reported in a form driftd does not know) is marked
// unknown and is never compared.
type RunningState struct {
	Kernel   string    // "" when unknown
	BootTime time.Time // zero when unknown
	// RebootKnown says whether RebootRequired is known.
	RebootKnown    bool
	RebootRequired bool
	RebootSource   string
	RebootPackages []string
	// LivePatchKnown says whether LivePatches is known (an empty list then
	// means no live patch is applied).
	LivePatchKnown  bool
	LivePatchSource string
	LivePatches     []string
}

// ParseRunningState parses one Custom:RunningState entry.
func ParseRunningState(e map[string]string) RunningState {
	var rs RunningState
	if k := strings.TrimSpace(e[RunningStateKernel]); k != "unknown" && !strings.ContainsAny(k, " \t") {
		rs.Kernel = k
	}
	if t, err := time.Parse(time.RFC3339, strings.TrimSpace(e[RunningStateBootTime])); err == nil {
		rs.BootTime = t.UTC()
	}
	switch strings.ToLower(strings.TrimSpace(e[RunningStateRebootRequired])) {
	case "true":
		rs.RebootKnown, rs.RebootRequired = true, true
	case "false":
		rs.RebootKnown = true
	}
	rs.RebootSource = strings.TrimSpace(e[RunningStateRebootRequiredSource])
	rs.RebootPackages = splitList(e[RunningStateRebootRequiredPackages])
	rs.LivePatchSource = strings.TrimSpace(e[RunningStateLivePatchSource])
	patches := splitList(e[RunningStateLivePatches])
	switch strings.ToLower(strings.TrimSpace(e[RunningStateLivePatchState])) {
	case "applied":
		// applied without identifiers contradicts itself: unknown
		rs.LivePatchKnown, rs.LivePatches = len(patches) > 0, patches
	case "none":
		rs.LivePatchKnown = len(patches) == 0
	}
	if !rs.LivePatchKnown {
		rs.LivePatches = nil
	}
	return rs
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// BaselineKernel returns the kernel release, as `uname -r` prints it, that
// an instance of the AMI runs, and where it was learnt:
//
//   - "running_kernel": the manifest states it;
//   - "Custom:RunningState": the baseline was captured from a reference
//     instance whose running state was collected;
//   - "package <name>": derived from the newest kernel package. rpm:
//     kernel, kernel-core or kernelX.Y (Amazon Linux 2023's kernel6.12)
//     <version>-<release>.<arch>, e.g. kernel 6.1.112-122.189.amzn2023
//     x86_64 → 6.1.112-122.189.amzn2023.x86_64 (the package needs a release
//     and an arch); deb: the release is in the package name,
//     linux-image-<release> or linux-image-unsigned-<release>, e.g.
//     linux-image-6.1.0-18-amd64 → 6.1.0-18-amd64 (meta packages such as
//     linux-image-amd64 and -dbg packages are not kernels).
//
// It returns "" when the manifest says nothing usable (an Image Builder
// list without releases or arches, a Windows AMI).
func (m *Manifest) BaselineKernel() (release, source string) {
	release, source, _ = m.baselineKernel()
	return release, source
}

// baselineKernel is BaselineKernel with the version ordering of the
// release (for the direction of a kernel change).
func (m *Manifest) baselineKernel() (release, source string, format PackageFormat) {
	if m == nil {
		return "", "", FormatGeneric
	}
	if k := strings.TrimSpace(m.RunningKernel); k != "" {
		return k, "running_kernel", m.PackageFormat
	}
	if ct := m.Custom[TypeRunningState]; ct != nil && len(ct.Entries) == 1 {
		if k := ParseRunningState(ct.Entries[0]).Kernel; k != "" {
			return k, TypeRunningState, m.PackageFormat
		}
	}
	var best *Package
	var bestRelease string
	var bestFormat PackageFormat
	for i := range m.Packages {
		p := &m.Packages[i]
		f := p.Format
		if f == FormatGeneric {
			f = m.PackageFormat
		}
		rel, kf := kernelRelease(p, f)
		if rel == "" {
			continue
		}
		if best == nil || newerKernel(kf, p, rel, best, bestRelease) {
			best, bestRelease, bestFormat = p, rel, kf
		}
	}
	if best == nil {
		return "", "", FormatGeneric
	}
	return bestRelease, "package " + best.Name, bestFormat
}

// kernelRelease returns the uname -r release a kernel package boots and the
// package's format, or "" when p is not a kernel package of a known form.
func kernelRelease(p *Package, f PackageFormat) (string, PackageFormat) {
	if (f == FormatRPM || f == FormatGeneric) && isRPMKernel(p.Name) {
		v, r, a := strings.TrimSpace(p.Version), strings.TrimSpace(p.Release), CanonicalArch(p.Arch)
		if v == "" || r == "" || a == "" || a == "noarch" {
			return "", f
		}
		return v + "-" + r + "." + a, FormatRPM
	}
	if (f == FormatDeb || f == FormatGeneric) && strings.HasPrefix(p.Name, "linux-image-") {
		rel := strings.TrimPrefix(p.Name, "linux-image-")
		rel = strings.TrimPrefix(rel, "unsigned-")
		if rel == "" || !isDigit(rel[0]) || strings.HasSuffix(rel, "-dbg") || strings.HasSuffix(rel, "-dbgsym") {
			return "", f
		}
		return rel, FormatDeb
	}
	return "", f
}

// isRPMKernel: kernel, kernel-core (RHEL, Fedora) and kernelX.Y (Amazon
// Linux 2023's kernel6.12); not kernel-devel, kernel-headers, kernel-tools,
// kernel-livepatch-*, kernel-modules*.
func isRPMKernel(name string) bool {
	switch name {
	case "kernel", "kernel-core":
		return true
	}
	rest, ok := strings.CutPrefix(name, "kernel")
	if !ok {
		return false
	}
	major, minor, ok := strings.Cut(rest, ".")
	return ok && major != "" && minor != "" && allDigits(major) && allDigits(minor)
}

// newerKernel orders kernel packages: the newer package version wins (the
// boot loader's default entry is the newest kernel), then the higher
// release, so the choice never depends on input order.
func newerKernel(f PackageFormat, p *Package, rel string, best *Package, bestRel string) bool {
	if k := CompareVersions(f, pkgEVR(p), pkgEVR(best)); k != 0 {
		return k > 0
	}
	if k := CompareVersions(f, rel, bestRel); k != 0 {
		return k > 0
	}
	return rel > bestRel
}

func pkgEVR(p *Package) string {
	if p.EVR != "" {
		return p.EVR
	}
	return CanonicalEVR(p.Epoch, p.Version, p.Release)
}

// compareRuntime compares the running state (Custom:RunningState) with the
// baseline: the running kernel must be the baseline's, no reboot may be
// pending, and every applied live patch is a finding (the policy decides
// which are allowed). It runs only when the snapshot collected the type
// (not collected: not compared, never drift) and returns, for the report's
// reasons, what it could not compare. A live patch changes the running
// kernel's code, not its release: it never explains a different kernel.
func (c *comparer) compareRuntime() []string {
	t, ok := c.s.CaptureTimes[TypeRunningState]
	if !ok {
		return nil
	}
	if c.cp.maxAge > 0 && t.Before(c.cp.now.Add(-c.cp.maxAge)) {
		return []string{"running state not compared: " + TypeRunningState + " captured " + fmtTime(t) + ", older than " + c.cp.maxAge.String()}
	}
	var entries []map[string]string
	if ct := c.s.Custom[TypeRunningState]; ct != nil {
		entries = ct.Entries
	}
	if len(entries) != 1 {
		return []string{"running state not compared: " + TypeRunningState + " has " + strconv.Itoa(len(entries)) + " entries, want 1"}
	}
	rs := ParseRunningState(entries[0])
	var notes []string
	want, _, format := c.m.baselineKernel()
	switch {
	case rs.Kernel == "":
		notes = append(notes, "running kernel not compared: unknown on the instance")
	case want == "":
		notes = append(notes, "running kernel not compared: the baseline names no kernel")
	case rs.Kernel != want:
		var d Direction
		switch k := CompareVersions(format, rs.Kernel, want); {
		case k > 0:
			d = DirectionUpgrade
		case k < 0:
			d = DirectionDowngrade
		}
		c.add(Finding{Category: CategoryRuntime, Type: TypeRunningState, Name: "kernel", Attribute: RuntimeKernel,
			Change: ChangeChanged, Direction: d, Expected: want, Observed: rs.Kernel})
	}
	switch {
	case !rs.RebootKnown:
		notes = append(notes, "reboot_required not compared: unknown on the instance")
	case rs.RebootRequired:
		c.add(Finding{Category: CategoryRuntime, Type: TypeRunningState, Name: "system", Attribute: RuntimeRebootRequired,
			Change: ChangeChanged, Expected: "false", Observed: "true"})
	}
	if !rs.LivePatchKnown {
		notes = append(notes, "live patches not compared: unknown on the instance")
	}
	src := rs.LivePatchSource
	if src == "" || src == "none" {
		src = "livepatch"
	}
	for _, id := range rs.LivePatches {
		c.add(Finding{Category: CategoryRuntime, Type: TypeRunningState, Name: src + ":" + id, Attribute: RuntimeLivePatch,
			Change: ChangeAdded, Expected: "absent", Observed: "applied"})
	}
	return notes
}
