package baselines

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/drift/manifest"
)

// DefaultCaptureTypes are the inventory types captured when none are given
// (WindowsCaptureTypes on a Windows instance).
var DefaultCaptureTypes = []string{drift.TypeApplication}

// WindowsCaptureTypes are the inventory types captured from a Windows
// instance when none are given: applications, installed updates (KBs),
// services and roles/features.
var WindowsCaptureTypes = []string{drift.TypeApplication, drift.TypeWindowsUpdate, drift.TypeService, drift.TypeWindowsRole}

// CaptureOptions select what Capture reads.
type CaptureOptions struct {
	InstanceID string
	// Types are the inventory types to capture (default AWS:Application;
	// on a Windows instance WindowsCaptureTypes). AWS:Application is
	// required; other types the instance has never reported are skipped
	// with a warning, types its platform does not report
	// (drift.TypeApplies) are not read.
	Types []string
	// Exclude drops instance-specific items (like goss add --exclude-attr):
	// globs (path.Match) on package names, file paths, service names and
	// custom entry keys, update ids and role names. A "package:", "file:",
	// "service:", "custom:", "update:" or "role:" prefix restricts a glob to
	// one category.
	Exclude []string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// CaptureResult is a captured manifest and what the operator should know.
type CaptureResult struct {
	Manifest *drift.Manifest
	Warnings []string
	// Excluded counts the items dropped by Exclude, by category.
	Excluded map[drift.Category]int
}

// Capture reads a clean instance's SSM inventory (ListInventoryEntries via
// collectors.Inventory), its AMI and name (DescribeInstances,
// DescribeImages) and its agent version (DescribeInstanceInformation), and
// returns the native manifest for its AMI with provenance (instance id,
// capture time, inventory capture time, agent version).
func Capture(ctx context.Context, ec2api collectors.EC2API, ssmapi collectors.SSMAPI, o CaptureOptions) (*CaptureResult, error) {
	if o.InstanceID == "" {
		return nil, errors.New("capture: an instance id is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	types := o.Types
	if len(types) == 0 {
		types = DefaultCaptureTypes
	}
	if !containsStr(types, drift.TypeApplication) {
		return nil, fmt.Errorf("capture: --types must include %s (a baseline without packages is not usable)", drift.TypeApplication)
	}
	ex, err := compileExcludes(o.Exclude)
	if err != nil {
		return nil, err
	}
	id := o.InstanceID
	res := &CaptureResult{Excluded: map[drift.Category]int{}}
	inst, err := describeTarget(ctx, ec2api, id, res)
	if err != nil {
		return nil, err
	}
	agent, err := describeAgent(ctx, ssmapi, id, res)
	if err != nil {
		return nil, err
	}
	target := collectors.Instance{ID: id, AMI: inst.ami, Agent: &collectors.Agent{PlatformType: string(agent.PlatformType), PlatformName: aws.ToString(agent.PlatformName)}}
	types = captureTypesFor(target, o.Types, types)
	tds, err := readInventory(ctx, ssmapi, id, types, res)
	if err != nil {
		return nil, err
	}
	snap := collectors.BuildSnapshot(target, tds, drift.FormatGeneric)
	m := captureManifest(inst, agent, o.Now(), types, snap)
	ex.copyItems(m, snap, res.Excluded)
	if len(res.Excluded) > 0 {
		var parts []string
		for _, c := range drift.Categories {
			if n := res.Excluded[c]; n > 0 {
				parts = append(parts, string(c)+"="+strconv.Itoa(n))
			}
		}
		m.Provenance["excluded"] = strings.Join(parts, ",") + " (" + strings.Join(o.Exclude, " ") + ")"
	}
	if len(m.Packages) == 0 {
		return nil, fmt.Errorf("capture %s: no packages left (inventory empty or everything excluded)", id)
	}
	if err := m.Normalize(); err != nil {
		return nil, fmt.Errorf("capture %s: %w", id, err)
	}
	m.Source = "capture:" + id
	res.Manifest = m
	sort.Strings(res.Warnings)
	return res, nil
}

// captureTarget is what EC2 says about the captured instance.
type captureTarget struct {
	id, ami, name, amiName string
}

// describeTarget reads the instance's AMI and Name tag (DescribeInstances)
// and the AMI's name (DescribeImages: a failure is only a warning).
func describeTarget(ctx context.Context, ec2api collectors.EC2API, id string, res *CaptureResult) (captureTarget, error) {
	t := captureTarget{id: id}
	di, err := ec2api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		return t, fmt.Errorf("capture %s: DescribeInstances: %w", id, err)
	}
	var state string
	for _, r := range di.Reservations {
		for _, in := range r.Instances {
			if aws.ToString(in.InstanceId) != id {
				continue
			}
			t.ami = aws.ToString(in.ImageId)
			if in.State != nil {
				state = string(in.State.Name)
			}
			for _, tag := range in.Tags {
				if aws.ToString(tag.Key) == "Name" {
					t.name = aws.ToString(tag.Value)
				}
			}
		}
	}
	if t.ami == "" {
		return t, fmt.Errorf("capture %s: instance not found (or it has no AMI id)", id)
	}
	if state != "" && state != "running" {
		res.Warnings = append(res.Warnings, fmt.Sprintf("instance %s is %s, not running", id, state))
	}
	if img, err := ec2api.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{t.ami}}); err != nil {
		res.Warnings = append(res.Warnings, fmt.Sprintf("DescribeImages %s: %v (the manifest will have no AMI name)", t.ami, err))
	} else if len(img.Images) == 1 {
		t.amiName = aws.ToString(img.Images[0].Name)
	}
	return t, nil
}

// describeAgent reads the SSM agent's version and platform; an agent not
// online is a warning (its inventory may be old).
func describeAgent(ctx context.Context, ssmapi collectors.SSMAPI, id string, res *CaptureResult) (ssmtypes.InstanceInformation, error) {
	info, err := ssmapi.DescribeInstanceInformation(ctx, &ssm.DescribeInstanceInformationInput{
		Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: []string{id}}},
	})
	if err != nil {
		return ssmtypes.InstanceInformation{}, fmt.Errorf("capture %s: DescribeInstanceInformation: %w", id, err)
	}
	if len(info.InstanceInformationList) == 0 {
		return ssmtypes.InstanceInformation{}, fmt.Errorf("capture %s: the instance is not registered with SSM (no agent, no inventory)", id)
	}
	agent := info.InstanceInformationList[0]
	if agent.PingStatus != ssmtypes.PingStatusOnline {
		res.Warnings = append(res.Warnings, fmt.Sprintf("SSM agent of %s is %s: the inventory may be old", id, agent.PingStatus))
	}
	return agent, nil
}

// readInventory reads every page of every type. AWS:Application is
// required; another type the account or the instance does not have is
// skipped with a warning.
func readInventory(ctx context.Context, ssmapi collectors.SSMAPI, id string, types []string, res *CaptureResult) ([]*collectors.TypeData, error) {
	inv := &collectors.Inventory{SSM: ssmapi}
	var tds []*collectors.TypeData
	for _, t := range types {
		td, err := inv.First(ctx, id, t)
		if err == nil {
			err = inv.Rest(ctx, id, td)
		}
		var tu *collectors.TypeUnavailableError
		if errors.As(err, &tu) && t != drift.TypeApplication {
			res.Warnings = append(res.Warnings, tu.Note())
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("capture %s: %w", id, err)
		}
		if !td.Present {
			if t == drift.TypeApplication {
				return nil, fmt.Errorf("capture %s: no %s inventory (is an inventory association running on it?)", id, t)
			}
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s has never reported %s; skipped", id, t))
			continue
		}
		tds = append(tds, td)
	}
	return tds, nil
}

// captureManifest is the manifest's head: the AMI, its OS family and the
// provenance of the capture.
func captureManifest(t captureTarget, agent ssmtypes.InstanceInformation, now time.Time, types []string, snap *drift.Snapshot) *drift.Manifest {
	m := &drift.Manifest{
		SchemaVersion: manifest.SchemaVersion,
		AMI:           t.ami,
		Name:          t.amiName,
		OSFamily:      osFamily(aws.ToString(agent.PlatformName)),
		Provenance: map[string]string{
			"captured_from": t.id,
			"capture_time":  now.UTC().Format(time.RFC3339),
			"agent_version": aws.ToString(agent.AgentVersion),
			"types":         strings.Join(types, ","),
		},
	}
	if t.name != "" {
		m.Provenance["instance_name"] = t.name
	}
	if pn := aws.ToString(agent.PlatformName); pn != "" {
		m.Provenance["platform"] = strings.TrimSpace(pn + " " + aws.ToString(agent.PlatformVersion))
	}
	for typ, ct := range snap.CaptureTimes {
		m.Provenance["inventory_capture_time."+typ] = ct.UTC().Format(time.RFC3339)
	}
	return m
}

// copyItems copies the snapshot's packages, files, services, Windows
// updates and roles and custom entries into m, leaving out (and counting) what the excludes match. The
// manifest's package format is the packages' one when they share it.
func (ex excludes) copyItems(m *drift.Manifest, snap *drift.Snapshot, excluded map[drift.Category]int) {
	formats := map[drift.PackageFormat]int{}
	for _, p := range snap.Packages {
		if ex.match(drift.CategoryPackage, p.Name) {
			excluded[drift.CategoryPackage]++
			continue
		}
		formats[p.Format]++
		m.Packages = append(m.Packages, drift.Package{Name: p.Name, Publisher: p.Publisher, Arch: p.Arch, Epoch: p.Epoch, Version: p.Version, Release: p.Release, Format: p.Format})
	}
	if len(formats) == 1 {
		for f := range formats {
			m.PackageFormat = f
		}
	}
	for _, f := range snap.Files {
		if ex.match(drift.CategoryFile, f.Path) {
			excluded[drift.CategoryFile]++
			continue
		}
		m.Files = append(m.Files, f)
	}
	for _, s := range snap.Services {
		if ex.match(drift.CategoryService, s.Name) {
			excluded[drift.CategoryService]++
			continue
		}
		m.Services = append(m.Services, s)
	}
	ex.captureWindows(m, snap, excluded)
	for name, ct := range snap.Custom {
		if c := ex.customType(name, ct, excluded); len(c.Entries) > 0 {
			if m.Custom == nil {
				m.Custom = map[string]*drift.CustomType{}
			}
			m.Custom[name] = c
		}
	}
}

// customType copies a custom type's entries the excludes do not match
// (on the value of the type's key, Name by default).
func (ex excludes) customType(name string, ct *drift.CustomType, excluded map[drift.Category]int) *drift.CustomType {
	c := &drift.CustomType{TypeName: name, Key: ct.Key}
	key := ct.Key
	if key == "" {
		key = "Name"
	}
	for _, e := range ct.Entries {
		if ex.match(drift.CategoryCustom, e[key]) {
			excluded[drift.CategoryCustom]++
			continue
		}
		c.Entries = append(c.Entries, e)
	}
	return c
}

// captureTypesFor returns the types to capture from inst: the requested ones
// (def when none were requested, WindowsCaptureTypes on Windows), less
// those its platform does not report (the configuration's inventory.types
// name the types of every platform in the fleet).
func captureTypesFor(inst collectors.Instance, requested, def []string) []string {
	if len(requested) == 0 && strings.EqualFold(inst.Agent.PlatformType, drift.PlatformWindows) {
		def = WindowsCaptureTypes
	}
	return collectors.InventoryTypesFor(inst, def)
}

// captureWindows adds the installed updates and the installed roles and
// features of a Windows snapshot to m (roles the server offers but has not
// installed are not part of a baseline).
func (ex excludes) captureWindows(m *drift.Manifest, snap *drift.Snapshot, excluded map[drift.Category]int) {
	for _, u := range snap.Updates {
		if ex.match(drift.CategoryUpdate, u.HotFixID) {
			excluded[drift.CategoryUpdate]++
			continue
		}
		m.Updates = append(m.Updates, drift.Update{HotFixID: u.HotFixID, Description: u.Description})
	}
	for _, r := range snap.Roles {
		if !r.Installed {
			continue
		}
		if ex.match(drift.CategoryRole, r.Name) {
			excluded[drift.CategoryRole]++
			continue
		}
		m.Roles = append(m.Roles, drift.Role{Name: r.Name, DisplayName: r.DisplayName, FeatureType: r.FeatureType, Installed: true})
	}
}

// excludes are compiled --exclude globs.
type excludes []excludeGlob

type excludeGlob struct {
	cat  drift.Category // "" = every category
	glob string
}

func compileExcludes(globs []string) (excludes, error) {
	var ex excludes
	for _, g := range globs {
		eg := excludeGlob{glob: g}
		for _, c := range []drift.Category{drift.CategoryPackage, drift.CategoryFile, drift.CategoryService, drift.CategoryCustom, drift.CategoryUpdate, drift.CategoryRole} {
			if rest, ok := strings.CutPrefix(g, string(c)+":"); ok {
				eg = excludeGlob{cat: c, glob: rest}
				break
			}
		}
		if eg.glob == "" {
			return nil, fmt.Errorf("--exclude %q: empty pattern", g)
		}
		if _, err := path.Match(eg.glob, ""); err != nil {
			return nil, fmt.Errorf("--exclude %q: bad glob", g)
		}
		ex = append(ex, eg)
	}
	return ex, nil
}

func (ex excludes) match(c drift.Category, name string) bool {
	for _, g := range ex {
		if g.cat != "" && g.cat != c {
			continue
		}
		if ok, _ := path.Match(g.glob, name); ok {
			return true
		}
	}
	return false
}

// osFamily maps SSM's PlatformName to a manifest os_family.
func osFamily(platform string) string {
	p := strings.ToLower(platform)
	switch {
	case p == "":
		return ""
	case strings.Contains(p, "amazon linux"):
		return "amzn"
	case strings.Contains(p, "red hat"):
		return "rhel"
	case strings.Contains(p, "ubuntu"):
		return "ubuntu"
	case strings.Contains(p, "debian"):
		return "debian"
	case strings.Contains(p, "suse"):
		return "sles"
	case strings.Contains(p, "windows"):
		return "windows"
	}
	return strings.Fields(p)[0]
}

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
