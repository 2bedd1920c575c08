package drift

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Compare compares an instance snapshot against the baseline manifest of its
// AMI under a policy. It is pure and deterministic: the same inputs always
// give the same, sorted Report. Both m and s must have been normalised
// ((*Manifest).Normalize, (*Snapshot).Normalize).
//
// Compare compiles p on every call; to compare many instances under one
// policy, compile it once with CompilePolicy and call (*CompiledPolicy).Compare.
// An invalid policy yields VerdictUnknown with the validation error as reason
// (never drift).
func Compare(m *Manifest, s *Snapshot, p *Policy) Report {
	cp, err := CompilePolicy(p)
	if err != nil {
		r := Report{Verdict: VerdictUnknown, Reasons: []string{"invalid policy: " + err.Error()}}
		if s != nil {
			r.InstanceID, r.AMI, r.ASG = s.InstanceID, s.AMI, s.ASG
		}
		return r
	}
	return cp.Compare(m, s)
}

type comparer struct {
	cp       *CompiledPolicy
	m        *Manifest
	s        *Snapshot
	findings []Finding
	// dropped counts findings pruned beyond the policy's cap, by category
	// and severity (nil until the first prune); ndropped is their number.
	dropped  map[countKey]int
	ndropped int
	// suppressed counts differences dropped by ignore/allow rules.
	suppressed int
	// expired collects ids of expired rules that would have matched.
	expired []string
	// pub is the publisher partition of the Windows applications being
	// compared ("" for every rpm and deb package; see packagePublishers).
	pub string
}

// Compare is Compare with a precompiled policy. The order of the checks:
// exempt (an exempt rule matches the instance) → no_baseline (m == nil) →
// unknown (s.Unknown, or no inventory category both in the manifest and
// collected) → stale (a compared category captured before Now-MaxInventoryAge)
// → in_sync or drifted.
func (cp *CompiledPolicy) Compare(m *Manifest, s *Snapshot) Report {
	if s == nil {
		return Report{Verdict: VerdictUnknown, Reasons: []string{"no snapshot"}}
	}
	r := Report{InstanceID: s.InstanceID, AMI: s.AMI, ASG: s.ASG}
	c := comparer{cp: cp, m: m, s: s}
	if c.decideWithoutInventory(&r) {
		return r
	}
	var pl plan
	c.plan(&pl)
	if c.decideFromCaptures(&r, &pl) {
		return r
	}
	c.compareCategories(&pl)
	c.finish(&r, pl.skipped)
	return r
}

// decideWithoutInventory settles the verdicts that need no inventory:
// exempt, no_baseline and unknown (the collector's reason). It reports
// whether r is final.
func (c *comparer) decideWithoutInventory(r *Report) bool {
	switch rule := c.exemptRule(); {
	case rule != nil:
		r.Verdict = VerdictExempt
		reason := "exempted by rule " + rule.ID
		if rule.Reason != "" {
			reason += ": " + rule.Reason
		}
		r.Reasons = []string{reason}
	case c.m == nil:
		r.Verdict = VerdictNoBaseline
		r.Reasons = []string{"no baseline manifest for AMI " + orDash(c.s.AMI)}
	case c.s.Unknown != "":
		r.Verdict = VerdictUnknown
		r.Reasons = []string{c.s.Unknown}
	default:
		return false
	}
	r.ExpiredRules = c.finishExpired()
	return true
}

// plan is what one comparison compares: the categories the manifest lists
// and the snapshot collected, the inventory type each is read from, and the
// oldest capture among them.
type plan struct {
	pkgs, updates, roles bool
	fileType, svcType    string // "" = not compared
	customTypes          []string
	oldest               time.Time
	oldestType           string
	compared             int
	// skipped says which categories the baseline lists but the snapshot
	// lacks (they are not compared: missing data is never drift).
	skipped []string
}

// note counts typ as compared and tracks the oldest capture.
func (pl *plan) note(s *Snapshot, typ string) {
	t := s.CaptureTimes[typ]
	if pl.compared == 0 || t.Before(pl.oldest) {
		pl.oldest, pl.oldestType = t, typ
	}
	pl.compared++
}

// firstCollected returns the first of types the snapshot collected ("" if none).
func firstCollected(s *Snapshot, types ...string) string {
	for _, t := range types {
		if _, ok := s.CaptureTimes[t]; ok {
			return t
		}
	}
	return ""
}

// plan decides which categories are compared: the manifest must list items
// of the category and the snapshot must have collected it.
func (c *comparer) plan(pl *plan) {
	m, s := c.m, c.s
	if len(m.Packages) > 0 {
		if firstCollected(s, TypeApplication) != "" {
			pl.pkgs = true
			pl.note(s, TypeApplication)
		} else {
			pl.skipped = append(pl.skipped, "packages not compared: no "+TypeApplication+" inventory")
		}
	}
	if len(m.Files) > 0 {
		if pl.fileType = firstCollected(s, TypeFileDigest, TypeFile); pl.fileType != "" {
			pl.note(s, pl.fileType)
		} else {
			pl.skipped = append(pl.skipped, "files not compared: no "+TypeFileDigest+" or "+TypeFile+" inventory")
		}
	}
	if len(m.Services) > 0 {
		if pl.svcType = firstCollected(s, TypeSystemdUnit, TypeService); pl.svcType != "" {
			pl.note(s, pl.svcType)
		} else {
			why := TypeSystemdUnit + " or " + TypeService
			if m.IsWindows() {
				why = TypeService
			}
			pl.skipped = append(pl.skipped, "services not compared: no "+why+" inventory")
		}
	}
	if len(m.Updates) > 0 {
		if pl.updates = firstCollected(s, TypeWindowsUpdate) != ""; pl.updates {
			pl.note(s, TypeWindowsUpdate)
		} else {
			pl.skipped = append(pl.skipped, "updates not compared: no "+TypeWindowsUpdate+" inventory")
		}
	}
	if len(m.Roles) > 0 {
		if pl.roles = firstCollected(s, TypeWindowsRole) != ""; pl.roles {
			pl.note(s, TypeWindowsRole)
		} else {
			pl.skipped = append(pl.skipped, "roles not compared: no "+TypeWindowsRole+" inventory")
		}
	}
	c.planCustom(pl)
}

// planCustom adds the custom types the manifest defines and the snapshot
// collected, in name order.
func (c *comparer) planCustom(pl *plan) {
	m, s := c.m, c.s
	for name := range m.Custom {
		if isBuiltinType(name) {
			continue
		}
		if _, ok := s.CaptureTimes[name]; ok {
			pl.customTypes = append(pl.customTypes, name)
		}
	}
	slices.Sort(pl.customTypes)
	for _, t := range pl.customTypes {
		pl.note(s, t)
	}
	if len(pl.customTypes) < len(m.Custom) {
		for _, name := range sortedKeys(m.Custom) {
			if _, ok := s.CaptureTimes[name]; !ok && !isBuiltinType(name) {
				pl.skipped = append(pl.skipped, name+" not compared: not collected")
			}
		}
	}
}

// decideFromCaptures settles the verdicts the plan alone decides: unknown
// when nothing the baseline lists was collected, stale when a compared type
// is older than the policy allows. It reports whether r is final.
func (c *comparer) decideFromCaptures(r *Report, pl *plan) bool {
	if pl.compared == 0 {
		r.Verdict = VerdictUnknown
		r.Reasons = append([]string{"no inventory collected for what the baseline lists"}, pl.skipped...)
		r.ExpiredRules = c.finishExpired()
		return true
	}
	if !pl.oldest.IsZero() {
		r.OldestCapture = pl.oldest.UTC()
	}
	if cp := c.cp; cp.maxAge > 0 && pl.oldest.Before(cp.now.Add(-cp.maxAge)) {
		r.Verdict = VerdictStale
		r.Reasons = []string{"inventory " + pl.oldestType + " captured " + fmtTime(pl.oldest) + ", older than " + cp.maxAge.String()}
		r.ExpiredRules = c.finishExpired()
		return true
	}
	return false
}

// compareCategories collects the findings of every planned category, the
// running state and the instance-level facts; what the running state could
// not compare is added to pl.skipped.
func (c *comparer) compareCategories(pl *plan) {
	if pl.pkgs {
		c.comparePackages()
	}
	if pl.fileType != "" {
		c.compareFiles(pl.fileType)
	}
	if pl.svcType != "" {
		c.compareServices(pl.svcType)
	}
	if pl.updates {
		c.compareUpdates()
	}
	if pl.roles {
		c.compareRoles()
	}
	for _, t := range pl.customTypes {
		c.compareCustom(t)
	}
	pl.skipped = append(pl.skipped, c.compareRuntime()...)
	if lt := c.s.Instance.LaunchTemplateAMI; lt != "" && lt != c.s.AMI {
		c.add(Finding{Category: CategoryInstance, Name: "ami", Attribute: "image_id", Change: ChangeChanged, Expected: lt, Observed: c.s.AMI})
	}
}

// finish caps and sorts the findings and fills the verdict, severity,
// counts and reasons of r.
func (c *comparer) finish(r *Report, skipped []string) {
	if len(c.findings) > c.cp.maxFindings {
		c.prune()
	}
	if len(c.findings) > 1 {
		slices.SortFunc(c.findings, compareFindings)
	}
	r.Findings = c.findings
	r.Suppressed = c.suppressed
	r.ExpiredRules = c.finishExpired()
	if len(r.Findings) == 0 {
		r.Verdict = VerdictInSync
		r.Reasons = skipped
		return
	}
	r.Verdict = VerdictDrifted
	r.FindingsTotal = len(r.Findings) + c.ndropped
	r.Truncated = c.ndropped > 0
	r.Counts = c.counts()
	for i := range r.Findings {
		if r.Findings[i].Severity > r.Severity {
			r.Severity = r.Findings[i].Severity
		}
	}
	r.Reasons = append([]string{summary(r.Findings, r.FindingsTotal)}, skipped...)
}

// countKey is a Counts key before it is rendered.
type countKey struct {
	cat Category
	sev Severity
}

// countKeys holds the rendered keys of the built-in categories, so counting
// allocates no strings.
var countKeys = func() map[countKey]string {
	m := map[countKey]string{}
	for _, c := range Categories {
		for _, s := range append([]Severity{SeverityNone}, Severities...) {
			m[countKey{c, s}] = string(c) + "/" + s.String()
		}
	}
	return m
}()

// CountKey is the key of Report.Counts for a category and severity:
// "package/high".
func CountKey(c Category, s Severity) string {
	if k, ok := countKeys[countKey{c, s}]; ok {
		return k
	}
	return string(c) + "/" + s.String()
}

// counts returns the exact finding counts: the kept findings plus those
// pruned beyond the cap.
func (c *comparer) counts() map[string]int {
	m := make(map[string]int, 4)
	for i := range c.findings {
		m[CountKey(c.findings[i].Category, c.findings[i].Severity)]++
	}
	for k, n := range c.dropped {
		m[CountKey(k.cat, k.sev)] += n
	}
	return m
}

// byImportance orders findings most severe first, ties in report order:
// the findings a capped report keeps are the first of this order.
func byImportance(a, b Finding) int {
	if a.Severity != b.Severity {
		return int(b.Severity) - int(a.Severity)
	}
	return compareFindings(a, b)
}

// prune keeps the cap's worth of most important findings and counts the
// rest, so that memory stays bounded by twice the cap however many
// differences an instance has.
func (c *comparer) prune() {
	keep := c.cp.maxFindings
	if len(c.findings) <= keep {
		return
	}
	slices.SortFunc(c.findings, byImportance)
	if c.dropped == nil {
		c.dropped = map[countKey]int{}
	}
	for i := keep; i < len(c.findings); i++ {
		c.dropped[countKey{c.findings[i].Category, c.findings[i].Severity}]++
	}
	c.ndropped += len(c.findings) - keep
	clear(c.findings[keep:]) // release the dropped findings' strings
	c.findings = c.findings[:keep]
}

// keep appends a finding, pruning when twice the cap is reached.
func (c *comparer) keep(f Finding) {
	c.findings = append(c.findings, f)
	if len(c.findings) >= 2*c.cp.maxFindings {
		c.prune()
	}
}

func sortedKeys(m map[string]*CustomType) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func isBuiltinType(t string) bool {
	switch t {
	case TypeApplication, TypeFile, TypeService, TypeFileDigest, TypeSystemdUnit, TypeRunningState, TypeWindowsUpdate, TypeWindowsRole:
		return true
	}
	return false
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// summary is the one-line reason of a drifted report, e.g.
// "package openssl-libs.x86_64 changed (downgrade) and 2 more findings";
// total counts the findings beyond those listed in fs.
func summary(fs []Finding, total int) string {
	// the most severe finding first, ties in sort order
	best := 0
	for i := range fs {
		if fs[i].Severity > fs[best].Severity {
			best = i
		}
	}
	f := &fs[best]
	var b strings.Builder
	b.Grow(64)
	b.WriteString(string(f.Category))
	b.WriteByte(' ')
	b.WriteString(f.Name)
	if f.Arch != "" {
		b.WriteByte('.')
		b.WriteString(f.Arch)
	}
	if f.Attribute != "" && f.Change == ChangeChanged && f.Category != CategoryPackage {
		b.WriteByte(' ')
		b.WriteString(f.Attribute)
	}
	b.WriteByte(' ')
	b.WriteString(string(f.Change))
	if f.Direction != DirectionNone {
		b.WriteString(" (")
		b.WriteString(string(f.Direction))
		b.WriteByte(')')
	}
	if n := max(total, len(fs)) - 1; n > 0 {
		b.WriteString(" and ")
		b.WriteString(strconv.Itoa(n))
		if n == 1 {
			b.WriteString(" more finding")
		} else {
			b.WriteString(" more findings")
		}
	}
	return b.String()
}

func (c *comparer) exemptRule() *compiledRule {
	for l := range c.cp.exempt {
		for i := range c.cp.exempt[l] {
			r := &c.cp.exempt[l][i]
			if !r.scopeMatches(c.s) || !r.name.match(c.s.InstanceID) {
				continue
			}
			if r.expired(c.cp.now) {
				c.expired = append(c.expired, r.ID)
				continue
			}
			return r
		}
	}
	return nil
}

func (c *comparer) finishExpired() []string {
	if len(c.expired) == 0 {
		return nil
	}
	slices.Sort(c.expired)
	return slices.Compact(c.expired)
}

// add applies the policy to one difference and keeps it unless a rule
// suppresses it. Layers are consulted ASG → AMI → global; within a layer the
// first rule whose scope matches and whose action applies wins. Expired rules
// are skipped and remembered.
func (c *comparer) add(f Finding) {
	for l := range c.cp.layers {
		rules := c.cp.layers[l]
		for i := range rules {
			r := &rules[i]
			if !r.applies(&f) || !r.scopeMatches(c.s) {
				continue
			}
			if r.expired(c.cp.now) {
				c.expired = append(c.expired, r.ID)
				continue
			}
			switch r.Action {
			case ActionIgnore, ActionAllowUpgrade:
				c.suppressed++
				return
			case ActionSeverity:
				f.Severity, f.Rule = r.Severity, r.ID
				c.keep(f)
				return
			}
		}
	}
	f.Severity = c.cp.severityFor(f.Category)
	c.keep(f)
}

// grow makes room for n more findings with one allocation (never more than
// the cap lets the comparison hold).
func (c *comparer) grow(n int) {
	n = min(n, 2*c.cp.maxFindings)
	if cap(c.findings)-len(c.findings) < n {
		c.findings = slices.Grow(c.findings, n+1)
	}
}

func compareFindings(a, b Finding) int {
	if a.Category != b.Category {
		return categoryIndex(a.Category) - categoryIndex(b.Category)
	}
	if c := strings.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	if c := strings.Compare(a.Publisher, b.Publisher); c != 0 {
		return c
	}
	if c := strings.Compare(a.Arch, b.Arch); c != 0 {
		return c
	}
	if c := strings.Compare(a.Attribute, b.Attribute); c != 0 {
		return c
	}
	if c := strings.Compare(string(a.Change), string(b.Change)); c != 0 {
		return c
	}
	if c := strings.Compare(a.Expected, b.Expected); c != 0 {
		return c
	}
	return strings.Compare(a.Observed, b.Observed)
}

// ---- packages ----

// comparePackages merge-joins the sorted, normalised package lists on
// (name, publisher, arch, EVR). Identical packages are consumed by the join with one
// string comparison each; only the remainder (a handful of indexes) is
// examined further, grouped by name.
func (c *comparer) comparePackages() {
	M, S := c.m.Packages, c.s.Packages
	// Guard against callers that skipped Normalize (EVR is empty until it
	// runs): compare normalised copies rather than trusting empty EVRs.
	if len(M) > 0 && M[0].EVR == "" {
		mc := *c.m
		mc.Packages = normalizePackages(slices.Clone(M), c.m.PackageFormat)
		c.m = &mc
		M = mc.Packages
	}
	if len(S) > 0 && S[0].EVR == "" {
		sc := *c.s
		sc.Packages = normalizePackages(slices.Clone(S), FormatGeneric)
		c.s = &sc
		S = sc.Packages
	}
	var mbuf, sbuf [32]int32
	rm, rs := mergePackages(M, S, mbuf[:0], sbuf[:0])
	if len(rm) == 0 && len(rs) == 0 {
		return
	}
	c.grow(len(rm) + len(rs))
	for p, q := 0, 0; p < len(rm) || q < len(rs); {
		var name string
		switch {
		case p == len(rm):
			name = S[rs[q]].Name
		case q == len(rs):
			name = M[rm[p]].Name
		default:
			name = min(M[rm[p]].Name, S[rs[q]].Name)
		}
		p2, q2 := p, q
		for p2 < len(rm) && M[rm[p2]].Name == name {
			p2++
		}
		for q2 < len(rs) && S[rs[q2]].Name == name {
			q2++
		}
		c.packageName(name, rm[p:p2], rs[q:q2])
		p, q = p2, q2
	}
}

// mergePackages is the hot loop of Compare: a merge-join of two sorted
// package lists on (name, publisher, arch, EVR). Identical packages are skipped with one
// equality test per field; the indexes of the others are appended to rm
// (manifest) and rs (snapshot). It is kept small and out of line so the
// compiler keeps its state in registers.
//
//go:noinline
func mergePackages(M, S []Package, rm, rs []int32) ([]int32, []int32) {
	i, j := 0, 0
	for i < len(M) && j < len(S) {
		a, b := &M[i], &S[j]
		if a.EVR == b.EVR && a.Name == b.Name && a.Arch == b.Arch && a.Publisher == b.Publisher {
			i++
			j++
			continue
		}
		k := strings.Compare(a.Name, b.Name)
		if k == 0 {
			if k = strings.Compare(a.Publisher, b.Publisher); k == 0 {
				if k = strings.Compare(a.Arch, b.Arch); k == 0 {
					k = strings.Compare(a.EVR, b.EVR)
				}
			}
		}
		if k < 0 {
			rm = append(rm, int32(i))
			i++
		} else {
			rs = append(rs, int32(j))
			j++
		}
	}
	for ; i < len(M); i++ {
		rm = append(rm, int32(i))
	}
	for ; j < len(S); j++ {
		rs = append(rs, int32(j))
	}
	return rm, rs
}

// packageName handles the leftover entries of one package name: Windows
// applications are first split by publisher (packagePublishers), then each
// set is compared by architecture (packageArchs). rpm and deb packages have
// no publisher and go straight to packageArchs.
func (c *comparer) packageName(name string, E, O []int32) {
	M, S := c.m.Packages, c.s.Packages
	for _, e := range E {
		if M[e].Publisher != "" {
			c.packagePublishers(name, E, O)
			return
		}
	}
	for _, o := range O {
		if S[o].Publisher != "" {
			c.packagePublishers(name, E, O)
			return
		}
	}
	c.packageArchs(name, E, O)
}

// packagePublishers splits the leftovers of one Windows application name
// by publisher and compares each publisher's entries on their own: an
// application of one name from two publishers is two applications. A
// manifest entry without publisher ("any publisher", e.g. Image Builder
// lists) takes the observed entries of every publisher the manifest does
// not list for that name (effectivePublisher).
func (c *comparer) packagePublishers(name string, E, O []int32) {
	M, S := c.m.Packages, c.s.Packages
	// a name has a handful of leftovers: keep the work on the stack
	var effBuf [8]string
	var pubBuf [16]string
	var epBuf, opBuf [8]int32
	eff, pubs := effBuf[:0], pubBuf[:0]
	for _, e := range E {
		pubs = append(pubs, M[e].Publisher)
	}
	for _, o := range O {
		p := c.effectivePublisher(name, S[o].Publisher)
		eff = append(eff, p)
		pubs = append(pubs, p)
	}
	slices.Sort(pubs)
	pubs = slices.Compact(pubs)
	for _, pub := range pubs {
		ep, op := epBuf[:0], opBuf[:0]
		for _, e := range E {
			if M[e].Publisher == pub {
				ep = append(ep, e)
			}
		}
		for k, o := range O {
			if eff[k] == pub {
				op = append(op, o)
			}
		}
		// observed entries of several publishers that fall to "any
		// publisher" are no longer in arch order
		slices.SortStableFunc(op, func(a, b int32) int {
			if k := strings.Compare(S[a].Arch, S[b].Arch); k != 0 {
				return k
			}
			return strings.Compare(S[a].EVR, S[b].EVR)
		})
		c.pub = pub
		c.packageArchs(name, ep, op)
	}
	c.pub = ""
}

// effectivePublisher is the publisher partition an observed application
// falls in: its own publisher when the manifest lists the name with that
// publisher (or does not list the name without one), else "" (the
// manifest's "any publisher" entries).
func (c *comparer) effectivePublisher(name, pub string) string {
	if pub == "" || c.manifestLists(name, func(p *Package) bool { return p.Publisher == pub }) {
		return pub
	}
	if c.manifestLists(name, func(p *Package) bool { return p.Publisher == "" }) {
		return ""
	}
	return pub
}

// manifestLists reports whether a manifest package of that name satisfies ok.
func (c *comparer) manifestLists(name string, ok func(*Package) bool) bool {
	M := c.m.Packages
	lo, _ := slices.BinarySearchFunc(M, name, func(p Package, n string) int { return strings.Compare(p.Name, n) })
	for k := lo; k < len(M) && M[k].Name == name; k++ {
		if ok(&M[k]) {
			return true
		}
	}
	return false
}

// inPartition reports whether p (of the manifest, or observed) belongs to
// the publisher partition being compared.
func (c *comparer) inPartition(observed bool, p *Package) bool {
	if !observed {
		return p.Publisher == c.pub
	}
	if p.Publisher == c.pub {
		return c.pub == "" || c.effectivePublisher(p.Name, p.Publisher) == c.pub
	}
	return c.pub == "" && c.effectivePublisher(p.Name, p.Publisher) == ""
}

// packageArchs handles the leftover entries of one package name (and
// publisher). Manifest entries with an explicit arch pair with observed
// entries of that arch; manifest entries without arch ("any arch", e.g.
// Image Builder lists) pair with observed entries of every arch the
// manifest does not list explicitly.
func (c *comparer) packageArchs(name string, E, O []int32) {
	M, S := c.m.Packages, c.s.Packages
	w := 0 // wildcard manifest entries (arch "") sort first
	for w < len(E) && M[E[w]].Arch == "" {
		w++
	}
	W, X := E[:w], E[w:]
	var usedBuf [8]bool
	var used []bool
	if len(W) > 0 {
		used = usedBuf[:0]
		for range W {
			used = append(used, false)
		}
	}
	x, o := 0, 0
	for x < len(X) || o < len(O) {
		var arch string
		switch {
		case x == len(X):
			arch = S[O[o]].Arch
		case o == len(O):
			arch = M[X[x]].Arch
		default:
			arch = min(M[X[x]].Arch, S[O[o]].Arch)
		}
		x2, o2 := x, o
		for x2 < len(X) && M[X[x2]].Arch == arch {
			x2++
		}
		for o2 < len(O) && S[O[o2]].Arch == arch {
			o2++
		}
		switch {
		case x2 > x:
			c.packageSet(X[x:x2], O[o:o2])
		case arch != "" && c.hasArch(name, arch):
			// the manifest lists this arch, and all its versions were matched
			c.packageSet(nil, O[o:o2])
		case len(W) > 0:
			c.packageWildcard(W, O[o:o2], used)
		default:
			c.packageSet(nil, O[o:o2])
		}
		x, o = x2, o2
	}
	for k, u := range used {
		if u {
			continue
		}
		p := &M[W[k]]
		// unmatched "any arch" entry: removed unless the name is still
		// installed for an arch the wildcard covered (then it was paired)
		_, obs := c.maxVersion(true, name, "", true)
		c.add(Finding{Category: CategoryPackage, Type: TypeApplication, Name: p.Name, Publisher: p.Publisher, Arch: c.displayArch(p, nil, p.Arch), Attribute: "version",
			Change: ChangeRemoved, Direction: c.direction(p, obs), Expected: p.EVR, Observed: evrOf(obs)})
	}
}

// hasArch reports whether the manifest lists name for arch explicitly (in
// the publisher partition being compared).
func (c *comparer) hasArch(name, arch string) bool {
	M := c.m.Packages
	lo, _ := slices.BinarySearchFunc(M, name, func(p Package, n string) int { return strings.Compare(p.Name, n) })
	for k := lo; k < len(M) && M[k].Name == name; k++ {
		if M[k].Arch == arch && M[k].Publisher == c.pub {
			return true
		}
	}
	return false
}

func evrOf(p *Package) string {
	if p == nil {
		return ""
	}
	return p.EVR
}

// format returns the version ordering for a pair of packages.
func (c *comparer) format(a, b *Package) PackageFormat {
	if b != nil && b.Format != FormatGeneric {
		return b.Format
	}
	if a != nil && a.Format != FormatGeneric {
		return a.Format
	}
	return c.m.PackageFormat
}

// displayArch spells a canonical arch for a finding the way the package's
// own format does (amd64 for a Debian package, x86_64 for an rpm; see
// DisplayArch). The format is that of the observed package o, else of the
// expected e, else the manifest's.
func (c *comparer) displayArch(e, o *Package, arch string) string {
	return DisplayArch(c.format(e, o), arch)
}

// maxVersion returns the newest package named name with the given arch
// (any arch when anyArch) in the publisher partition being compared, of
// the observed packages or of the manifest's.
func (c *comparer) maxVersion(observed bool, name, arch string, anyArch bool) (int, *Package) {
	ps := c.m.Packages
	if observed {
		ps = c.s.Packages
	}
	lo, _ := slices.BinarySearchFunc(ps, name, func(p Package, n string) int { return strings.Compare(p.Name, n) })
	var best *Package
	n := 0
	for k := lo; k < len(ps) && ps[k].Name == name; k++ {
		if !anyArch && ps[k].Arch != arch {
			continue
		}
		if !c.inPartition(observed, &ps[k]) {
			continue
		}
		n++
		if best == nil || CompareVersions(c.format(best, &ps[k]), ps[k].EVR, best.EVR) > 0 {
			best = &ps[k]
		}
	}
	return n, best
}

// direction of a move from expected e to observed o ("" when either is nil).
func (c *comparer) direction(e, o *Package) Direction {
	if e == nil || o == nil {
		return DirectionNone
	}
	var k int
	if c.m.NameVersionOnly {
		k = c.compareNVO(e, o)
	} else {
		k = CompareVersions(c.format(e, o), o.EVR, e.EVR)
	}
	switch {
	case k > 0:
		return DirectionUpgrade
	case k < 0:
		return DirectionDowngrade
	}
	return DirectionNone
}

// packageSet compares the leftover versions of one name+arch. After the
// merge-join removed identical versions: one expected and one observed
// version left → changed (upgrade/downgrade); otherwise every leftover is
// reported on its own: observed → added, expected → removed, each with the
// direction relative to the newest version of that name+arch on the other side.
func (c *comparer) packageSet(E, O []int32) {
	M, S := c.m.Packages, c.s.Packages
	if len(E) == 1 && len(O) == 1 {
		c.packageChanged(&M[E[0]], &S[O[0]])
		return
	}
	for _, e := range E {
		p := &M[e]
		_, obs := c.maxVersion(true, p.Name, p.Arch, false)
		c.add(Finding{Category: CategoryPackage, Type: TypeApplication, Name: p.Name, Publisher: p.Publisher, Arch: c.displayArch(p, nil, p.Arch), Attribute: "version",
			Change: ChangeRemoved, Direction: c.direction(p, obs), Expected: p.EVR, Observed: evrOf(obs)})
	}
	for _, o := range O {
		p := &S[o]
		_, exp := c.maxVersion(false, p.Name, p.Arch, false)
		if exp == nil {
			_, exp = c.maxVersion(false, p.Name, "", false)
		}
		c.add(Finding{Category: CategoryPackage, Type: TypeApplication, Name: p.Name, Publisher: p.Publisher, Arch: c.displayArch(exp, p, p.Arch), Attribute: "version",
			Change: ChangeAdded, Direction: c.direction(exp, p), Expected: evrOf(exp), Observed: p.EVR})
	}
}

func (c *comparer) packageChanged(e, o *Package) {
	var k int
	if c.m.NameVersionOnly {
		if nvoEqual(e, o) {
			return
		}
		k = c.compareNVO(e, o)
	} else {
		k = CompareVersions(c.format(e, o), o.EVR, e.EVR)
	}
	if k == 0 {
		// different spelling, same version for the package manager (1.0 vs 1.00)
		return
	}
	d := DirectionUpgrade
	if k < 0 {
		d = DirectionDowngrade
	}
	arch := o.Arch
	if arch == "" {
		arch = e.Arch
	}
	c.add(Finding{Category: CategoryPackage, Type: TypeApplication, Name: o.Name, Publisher: o.Publisher, Arch: c.displayArch(e, o, arch), Attribute: "version",
		Change: ChangeChanged, Direction: d, Expected: e.EVR, Observed: o.EVR})
}

// packageWildcard pairs observed entries of one arch with "any arch"
// manifest entries: equal versions match; a single leftover on both sides
// is a change; other leftovers are added.
func (c *comparer) packageWildcard(W, O []int32, used []bool) {
	M, S := c.m.Packages, c.s.Packages
	var leftBuf [8]int32
	left := leftBuf[:0]
	matchedHere := false // some observed version of this arch matched an entry
	for _, o := range O {
		matched := false
		for k, w := range W {
			if c.equalPkg(&M[w], &S[o]) {
				used[k], matched, matchedHere = true, true, true
				break
			}
		}
		if !matched {
			left = append(left, o)
		}
	}
	if len(left) == 0 {
		return
	}
	// one "any arch" entry and one differing version of this arch (and no
	// matching one beside it): a change. Each arch is judged on its own, so
	// glibc.i686 can change while glibc.x86_64 matches.
	if len(W) == 1 && len(left) == 1 && !matchedHere {
		used[0] = true
		c.packageChanged(&M[W[0]], &S[left[0]])
		return
	}
	for _, o := range left {
		p := &S[o]
		_, exp := c.maxVersion(false, p.Name, "", false)
		c.add(Finding{Category: CategoryPackage, Type: TypeApplication, Name: p.Name, Publisher: p.Publisher, Arch: c.displayArch(exp, p, p.Arch), Attribute: "version",
			Change: ChangeAdded, Direction: c.direction(exp, p), Expected: evrOf(exp), Observed: p.EVR})
	}
}

func (c *comparer) equalPkg(e, o *Package) bool {
	if e.EVR == o.EVR {
		return true
	}
	if c.m.NameVersionOnly {
		return nvoEqual(e, o)
	}
	return false
}

// nvoEqual matches a name-version-only manifest entry against an observed
// package at the detail the manifest has: full EVR, version-release without
// epoch, epoch:version, or the upstream version alone.
func nvoEqual(e, o *Package) bool {
	ev := e.EVR
	switch {
	case ev == o.EVR, ev == o.Version:
		return true
	}
	if o.Release != "" && len(ev) == len(o.Version)+1+len(o.Release) &&
		strings.HasPrefix(ev, o.Version) && ev[len(o.Version)] == '-' && strings.HasSuffix(ev, o.Release) {
		return true
	}
	if o.Epoch != "" && len(ev) == len(o.Epoch)+1+len(o.Version) &&
		strings.HasPrefix(ev, o.Epoch) && ev[len(o.Epoch)] == ':' && strings.HasSuffix(ev, o.Version) {
		return true
	}
	return false
}

// compareNVO orders observed o against a name-version-only entry e at e's
// level of detail: the epoch only when e has one, the release only when e
// has one. Returns the sign of o - e.
func (c *comparer) compareNVO(e, o *Package) int {
	f := c.format(e, o)
	if f == FormatWindows {
		return WindowsVerCmp(o.Version, e.EVR)
	}
	var ee, ev, er string
	if f == FormatDeb {
		ee, ev, er = splitDeb(e.EVR)
	} else {
		ee, ev, er = splitRPM(e.EVR)
	}
	if ee != "" {
		if k := compareEpoch(o.Epoch, ee); k != 0 {
			return k
		}
	}
	cmp := RPMVerCmp
	if f == FormatDeb {
		cmp = DebVerRevCmp
	}
	if k := cmp(o.Version, ev); k != 0 {
		return k
	}
	if er != "" {
		return cmp(o.Release, er)
	}
	return 0
}

// ---- files ----

func (c *comparer) compareFiles(typ string) {
	mergeByKey(c.m.Files, c.s.Files, func(f *File) string { return f.Path },
		func(e *File) {
			c.add(Finding{Category: CategoryFile, Type: typ, Name: e.Path, Change: ChangeRemoved, Expected: "present", Observed: "absent"})
		},
		func(o *File) {
			c.add(Finding{Category: CategoryFile, Type: typ, Name: o.Path, Change: ChangeAdded, Expected: "absent", Observed: "present"})
		},
		func(e, o *File) { c.fileAttrs(typ, e, o) })
}

// mergeByKey walks two slices sorted by key, calling removed for items only
// in M, added for items only in S and both for items in each.
func mergeByKey[T any](M, S []T, key func(*T) string, removed, added func(*T), both func(e, o *T)) {
	i, j := 0, 0
	for i < len(M) || j < len(S) {
		var k int
		switch {
		case i == len(M):
			k = 1
		case j == len(S):
			k = -1
		default:
			k = strings.Compare(key(&M[i]), key(&S[j]))
		}
		switch {
		case k < 0:
			removed(&M[i])
			i++
		case k > 0:
			added(&S[j])
			j++
		default:
			both(&M[i], &S[j])
			i++
			j++
		}
	}
}

func (c *comparer) fileAttrs(typ string, e, o *File) {
	diff := func(attr, want, got string) {
		c.add(Finding{Category: CategoryFile, Type: typ, Name: e.Path, Attribute: attr, Change: ChangeChanged, Expected: want, Observed: got})
	}
	if e.SHA256 != "" && o.SHA256 != "" && !strings.EqualFold(e.SHA256, o.SHA256) {
		diff("sha256", e.SHA256, o.SHA256)
	}
	if e.HasSize && o.HasSize && e.Size != o.Size {
		diff("size", strconv.FormatInt(e.Size, 10), strconv.FormatInt(o.Size, 10))
	}
	if !e.ModTime.IsZero() && !o.ModTime.IsZero() && !e.ModTime.Equal(o.ModTime) {
		diff("mtime", fmtTime(e.ModTime), fmtTime(o.ModTime))
	}
	if e.Mode != "" && o.Mode != "" && e.Mode != o.Mode {
		diff("mode", e.Mode, o.Mode)
	}
	if e.Owner != "" && o.Owner != "" && e.Owner != o.Owner {
		diff("owner", e.Owner, o.Owner)
	}
}

// ---- services ----

// compareServices compares services read from typ. A systemd unit's
// attributes are "state" (ActiveState) and "enabled" (UnitFileState); a
// Windows service's (AWS:Service) are "status" (Status) and "start_type"
// (StartType), the agent's names. A Windows service whose baseline start
// type is Manual starts on demand (trigger start) and stops when idle, so
// its status is not compared; its start type is.
func (c *comparer) compareServices(typ string) {
	stateAttr, enabledAttr := "state", "enabled"
	windows := typ == TypeService
	if windows {
		stateAttr, enabledAttr = "status", "start_type"
	}
	mergeByKey(c.m.Services, c.s.Services, func(v *Service) string { return v.Name },
		func(e *Service) {
			c.add(Finding{Category: CategoryService, Type: typ, Name: e.Name, Change: ChangeRemoved, Expected: "present", Observed: "absent"})
		},
		func(o *Service) {
			c.add(Finding{Category: CategoryService, Type: typ, Name: o.Name, Change: ChangeAdded, Expected: "absent", Observed: "present"})
		},
		func(e, o *Service) {
			onDemand := windows && strings.EqualFold(e.Enabled, "Manual")
			if e.State != "" && o.State != "" && !strings.EqualFold(e.State, o.State) && !onDemand {
				c.add(Finding{Category: CategoryService, Type: typ, Name: e.Name, Attribute: stateAttr, Change: ChangeChanged, Expected: e.State, Observed: o.State})
			}
			if e.Enabled != "" && o.Enabled != "" && !strings.EqualFold(e.Enabled, o.Enabled) {
				c.add(Finding{Category: CategoryService, Type: typ, Name: e.Name, Attribute: enabledAttr, Change: ChangeChanged, Expected: e.Enabled, Observed: o.Enabled})
			}
		})
}

// ---- Windows updates and roles ----

// compareUpdates compares installed Windows updates by id: a KB installed
// on the instance but not in the baseline is added, one in the baseline
// but not installed is removed.
func (c *comparer) compareUpdates() {
	mergeByKey(c.m.Updates, c.s.Updates, func(u *Update) string { return u.HotFixID },
		func(e *Update) {
			c.add(Finding{Category: CategoryUpdate, Type: TypeWindowsUpdate, Name: e.HotFixID, Change: ChangeRemoved, Expected: "installed", Observed: "absent"})
		},
		func(o *Update) {
			c.add(Finding{Category: CategoryUpdate, Type: TypeWindowsUpdate, Name: o.HotFixID, Change: ChangeAdded, Expected: "absent", Observed: "installed"})
		},
		func(e, o *Update) {})
}

// compareRoles compares the installed Windows roles and features: a role
// the baseline lists that is not installed (Available, Removed, or not
// reported at all) is removed; a role installed on the instance that the
// baseline does not list is added.
func (c *comparer) compareRoles() {
	removed := func(e *Role, observed string) {
		c.add(Finding{Category: CategoryRole, Type: TypeWindowsRole, Name: e.Name, Change: ChangeRemoved, Expected: "Installed", Observed: observed})
	}
	mergeByKey(c.m.Roles, c.s.Roles, func(r *Role) string { return r.Name },
		func(e *Role) { removed(e, "absent") },
		func(o *Role) {
			if o.Installed {
				c.add(Finding{Category: CategoryRole, Type: TypeWindowsRole, Name: o.Name, Change: ChangeAdded, Expected: "not installed", Observed: orText(o.InstallState, "Installed")})
			}
		},
		func(e, o *Role) {
			if !o.Installed {
				removed(e, orText(o.InstallState, "not installed"))
			}
		})
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ---- custom types ----

func (c *comparer) compareCustom(typ string) {
	spec := c.cp.custom[typ]
	mt := c.m.Custom[typ]
	key := spec.Key
	if key == "" && mt != nil {
		key = mt.Key
	}
	if key == "" {
		key = "Name"
	}
	cat := spec.Category
	if cat == "" {
		cat = CategoryCustom
	}
	var ment, sent []map[string]string
	if mt != nil {
		ment = mt.Entries
	}
	if st := c.s.Custom[typ]; st != nil {
		sent = st.Entries
	}
	ms, ss := sortedByKey(ment, key), sortedByKey(sent, key)
	i, j := 0, 0
	for i < len(ms) || j < len(ss) {
		var k int
		switch {
		case i == len(ms):
			k = 1
		case j == len(ss):
			k = -1
		default:
			k = strings.Compare(ms[i][key], ss[j][key])
		}
		switch {
		case k < 0:
			c.add(Finding{Category: cat, Type: typ, Name: ms[i][key], Change: ChangeRemoved, Expected: "present", Observed: "absent"})
			i++
		case k > 0:
			c.add(Finding{Category: cat, Type: typ, Name: ss[j][key], Change: ChangeAdded, Expected: "absent", Observed: "present"})
			j++
		default:
			e, o := ms[i], ss[j]
			attrs := spec.Attributes
			if len(attrs) == 0 {
				attrs = make([]string, 0, len(e))
				for a := range e {
					if a != key {
						attrs = append(attrs, a)
					}
				}
				slices.Sort(attrs)
			}
			for _, a := range attrs {
				ev, eok := e[a]
				ov, ook := o[a]
				if eok && ook && ev != ov {
					c.add(Finding{Category: cat, Type: typ, Name: e[key], Attribute: a, Change: ChangeChanged, Expected: ev, Observed: ov})
				}
			}
			i++
			j++
		}
	}
}

// sortedByKey returns the entries that have the key attribute, sorted by it.
func sortedByKey(entries []map[string]string, key string) []map[string]string {
	out := make([]map[string]string, 0, len(entries))
	for _, e := range entries {
		if _, ok := e[key]; ok {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b map[string]string) int { return strings.Compare(a[key], b[key]) })
	return out
}
