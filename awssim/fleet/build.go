package fleet

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/driftd/driftd/awssim/wire"
)

// AddAMI registers an AMI and returns its id.
func (f *Fleet) AddAMI(spec AMISpec) (string, error) {
	if spec.ManifestParameter != "" && f.pub == nil {
		return "", fmt.Errorf("ami %s: manifestParameter needs a fleet with a Publisher", spec.Name)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	a, err := f.addAMILocked(spec, f.now())
	if err != nil {
		return "", err
	}
	if spec.ManifestParameter != "" {
		name, b, err := baselineDocument(a)
		if err != nil {
			return "", err
		}
		value := string(b)
		if len(b) > StandardParameterLimit {
			key := "manifests/" + name
			f.pub.PutObject(ManifestBucket, key, b)
			value = "s3://" + ManifestBucket + "/" + key
		}
		f.pub.PutParameter(strings.ReplaceAll(spec.ManifestParameter, "{ami}", a.ID), value)
	}
	return a.ID, nil
}

func (f *Fleet) addAMILocked(spec AMISpec, now time.Time) (*AMI, error) {
	if spec.Name == "" {
		return nil, fmt.Errorf("ami: name is required")
	}
	id := spec.ID
	if id == "" {
		id = f.newID("ami")
	} else if !amiIDRE.MatchString(id) {
		return nil, fmt.Errorf("ami %s: id %q is not of the form ami-<8 or 17 hex digits>", spec.Name, id)
	}
	if f.amis[id] != nil {
		return nil, fmt.Errorf("ami %s: id %s already exists", spec.Name, id)
	}
	format := spec.Format
	if format == "" {
		format = "rpm"
	}
	if format != "rpm" && format != "deb" && format != FormatWindows {
		return nil, fmt.Errorf("ami %s: format %q is not rpm, deb or windows", spec.Name, format)
	}
	if err := checkPlatformSpec(spec, format); err != nil {
		return nil, err
	}
	mf := spec.ManifestFormat
	if mf == "" {
		mf = ManifestNative
	}
	if mf != ManifestNative && mf != ManifestCycloneDX {
		return nil, fmt.Errorf("ami %s: manifestFormat %q is not native or cyclonedx", spec.Name, mf)
	}
	a := &AMI{ID: id, Name: spec.Name, Description: spec.Description, OwnerID: f.opts.AccountID,
		Architecture: spec.Architecture, Platform: spec.Platform, PlatformName: spec.PlatformName,
		PlatformVersion: spec.PlatformVersion, PackageFormat: format, ManifestFormat: mf, CreationDate: spec.Created,
		Tags: map[string]string{}, Inventory: map[string]*TypeData{}}
	for k, v := range spec.Tags {
		a.Tags[k] = v
	}
	switch a.Architecture {
	case "":
		a.Architecture = "x86_64"
	case "x86_64", "arm64", "i386":
	default: // DescribeImages' architecture values for Linux images
		return nil, fmt.Errorf("ami %s: architecture %q is not x86_64, arm64 or i386", spec.Name, a.Architecture)
	}
	if a.CreationDate.IsZero() {
		a.CreationDate = now.Add(-14 * 24 * time.Hour)
	}
	if a.PlatformName == "" {
		a.PlatformName, a.PlatformVersion = "Amazon Linux", "2023"
		switch format {
		case "deb":
			a.PlatformName, a.PlatformVersion = "Debian GNU/Linux", "12"
		case FormatWindows:
			a.PlatformName, a.PlatformVersion = WindowsPlatformName, WindowsPlatformVersion
		}
	}
	if format == FormatWindows {
		a.Platform = "windows"
	}
	pkgs := append([]PackageSpec(nil), spec.Packages...)
	if g := spec.Generate; g != nil {
		if g.Count < 0 || g.Count > 100000 {
			return nil, fmt.Errorf("ami %s: generate.count %d out of range 0..100000", spec.Name, g.Count)
		}
		gf := g.Format
		if gf == "" {
			gf = format
		}
		pkgs = append(pkgs, GeneratePackagesFor(g.Count, g.Seed, gf, g.Dist)...)
	}
	installed := a.CreationDate.Add(-time.Hour)
	if len(pkgs) > 0 {
		entries := make([]Entry, 0, len(pkgs))
		for i, p := range pkgs {
			if p.Name == "" || p.Version == "" {
				return nil, fmt.Errorf("ami %s: packages[%d]: name and version are required", spec.Name, i)
			}
			if format == FormatWindows {
				if _, err := windowsArch(p.Arch); err != nil {
					return nil, fmt.Errorf("ami %s: packages[%d] (%s): %v", spec.Name, i, p.Name, err)
				}
			}
			entries = append(entries, packageEntry(p, a, installed))
		}
		a.Inventory[TypeApplication] = NewTypeData(TypeApplication, "", entries)
	}
	if err := addWindowsInventory(a, spec, installed); err != nil {
		return nil, err
	}
	if len(spec.Files) > 0 {
		var digests, files []Entry
		for _, fs := range spec.Files {
			digests = append(digests, fileDigestEntry(fs))
			files = append(files, fileEntry(fs, installed))
		}
		a.Inventory[TypeFileDigest] = NewTypeData(TypeFileDigest, "1.0", digests)
		a.Inventory[TypeFile] = NewTypeData(TypeFile, "", files)
	}
	if len(spec.Services) > 0 {
		var units []Entry
		for _, sv := range spec.Services {
			units = append(units, unitEntry(sv))
		}
		a.Inventory[TypeSystemdUnit] = NewTypeData(TypeSystemdUnit, "1.0", units)
	}
	for t, es := range spec.Inventory {
		if !ValidTypeName(t) {
			return nil, fmt.Errorf("ami %s: inventory type %q is not AWS:* or Custom:*", spec.Name, t)
		}
		a.Inventory[t] = NewTypeData(t, "", es)
	}
	f.amis[id] = a
	f.amiOrder = append(f.amiOrder, id)
	return a, nil
}

// AddLaunchTemplate creates a launch template whose versions launch the
// given images (version i+1 = images[i]); the default version is the last.
func (f *Fleet) AddLaunchTemplate(name, instanceType string, images ...string) (string, error) {
	if len(images) == 0 {
		return "", fmt.Errorf("launch template %s: at least one image is required", name)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ltByName[name] != nil {
		return "", fmt.Errorf("launch template %s already exists", name)
	}
	now := f.now()
	lt := f.CreateLaunchTemplateLocked(name, images[0], instanceType, "", now)
	for _, im := range images[1:] {
		lt.Versions = append(lt.Versions, &LTVersion{Number: len(lt.Versions) + 1, ImageID: im, InstanceType: instanceType, Created: now})
	}
	lt.DefaultVersion = len(lt.Versions)
	return lt.ID, nil
}

// AddLaunchTemplateVersion adds a version launching image and optionally
// makes it the default; it returns the version number.
func (f *Fleet) AddLaunchTemplateVersion(ltName, image string, makeDefault bool) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	lt := f.ltByName[ltName]
	if lt == nil {
		return 0, fmt.Errorf("launch template %s not found", ltName)
	}
	last := lt.Versions[len(lt.Versions)-1]
	v := &LTVersion{Number: len(lt.Versions) + 1, ImageID: image, InstanceType: last.InstanceType, Created: f.now()}
	lt.Versions = append(lt.Versions, v)
	if makeDefault {
		lt.DefaultVersion = v.Number
	}
	return v.Number, nil
}

// FindLaunchTemplate resolves LaunchTemplateId / LaunchTemplateName (f.mu held).
func (f *Fleet) FindLaunchTemplate(id, name string) (*LaunchTemplate, *wire.Error) {
	switch {
	case id != "":
		if !ltIDRE.MatchString(id) {
			return nil, wire.Errorf(400, "InvalidLaunchTemplateId.Malformed", "The specified ID for the launch template (%s) is not valid. Launch template IDs must be in the format lt-xxxxxxxxxxxxxxxxx.", id)
		}
		lt := f.lts[id]
		if lt == nil {
			return nil, wire.Errorf(400, "InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID %s, does not exist.", id)
		}
		return lt, nil
	case name != "":
		lt := f.ltByName[name]
		if lt == nil {
			return nil, wire.Errorf(400, "InvalidLaunchTemplateName.NotFoundException", "The specified launch template, with template name %s, does not exist.", name)
		}
		return lt, nil
	}
	return nil, wire.Errorf(400, "MissingParameter", "The request must contain the parameter LaunchTemplateName or LaunchTemplateId")
}

func (f *Fleet) CreateLaunchTemplateLocked(name, image, itype, desc string, now time.Time) *LaunchTemplate {
	lt := &LaunchTemplate{ID: f.newID("lt"), Name: name, DefaultVersion: 1, Created: now}
	lt.Versions = []*LTVersion{{Number: 1, ImageID: image, InstanceType: itype, Description: desc, Created: now}}
	f.lts[lt.ID] = lt
	f.ltByName[name] = lt
	return lt
}

func (f *Fleet) CreateGroupLocked(spec GroupSpec, now time.Time) error {
	if spec.Name == "" {
		return fmt.Errorf("group: name is required")
	}
	if f.groups[spec.Name] != nil {
		return fmt.Errorf("group %s already exists", spec.Name)
	}
	lt, err := f.FindLaunchTemplate(spec.LaunchTemplateID, spec.LaunchTemplateName)
	if err != nil {
		return fmt.Errorf("group %s: %s", spec.Name, err.Message)
	}
	ver := spec.LaunchTemplateVersion
	if ver == "" {
		ver = "$Default"
	}
	if _, ok := lt.Resolve(ver); !ok {
		return fmt.Errorf("group %s: launch template %s has no version %s", spec.Name, lt.Name, ver)
	}
	if spec.Min < 0 || spec.Min > spec.Max || spec.Desired < spec.Min || spec.Desired > spec.Max {
		return fmt.Errorf("group %s: desired capacity %d must be between min %d and max %d", spec.Name, spec.Desired, spec.Min, spec.Max)
	}
	g := &Group{Name: spec.Name, Min: spec.Min, Max: spec.Max, Desired: spec.Desired, LTID: lt.ID, LTVersion: ver,
		AZs: spec.AZs, HealthCheckType: spec.HealthCheckType, Grace: spec.Grace, DefaultCooldown: 300, Created: now,
		Suspended: map[string]string{}, NewInstancesProtected: spec.NewInstancesProtected, VPCZoneIdentifier: spec.VPCZoneIdentifier,
		ARN: fmt.Sprintf("arn:aws:autoscaling:%s:%s:autoScalingGroup:%s:autoScalingGroupName/%s", f.opts.Region, f.opts.AccountID, f.UUID(), spec.Name)}
	if len(g.AZs) == 0 {
		g.AZs = []string{f.opts.Region + "a", f.opts.Region + "b", f.opts.Region + "c"}
	}
	if g.HealthCheckType == "" {
		g.HealthCheckType = "EC2"
	}
	g.Tags = append(g.Tags, spec.Tags...)
	keys := make([]string, 0, len(spec.TagMap))
	for k := range spec.TagMap {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g.Tags = append(g.Tags, GroupTag{Key: k, Value: spec.TagMap[k], PropagateAtLaunch: true})
	}
	sort.Slice(g.Tags, func(i, j int) bool { return g.Tags[i].Key < g.Tags[j].Key })
	for _, p := range spec.Suspended {
		if !slices.Contains(scalingProcesses, p) {
			return fmt.Errorf("group %s: %q is not a scaling process", spec.Name, p)
		}
		g.Suspended[p] = "User suspended at " + now.UTC().Format("2006-01-02T15:04:05Z")
	}
	for _, h := range spec.Hooks {
		tr := h.Transition
		switch tr {
		case "terminating", "":
			tr = "autoscaling:EC2_INSTANCE_TERMINATING"
		case "launching":
			tr = "autoscaling:EC2_INSTANCE_LAUNCHING"
		}
		to := h.Timeout
		if to <= 0 {
			to = time.Hour
		}
		dr := h.DefaultResult
		switch dr {
		case "":
			dr = "CONTINUE"
		case "CONTINUE", "ABANDON":
		default:
			return fmt.Errorf("group %s: hook %s: defaultResult %q is not CONTINUE or ABANDON", spec.Name, h.Name, dr)
		}
		g.Hooks = append(g.Hooks, Hook{Name: h.Name, Transition: tr, Timeout: to, DefaultResult: dr})
	}
	f.groups[g.Name] = g
	return nil
}

// AddGroup creates an Auto Scaling group whose initial members are already
// InService (launched age ago, inventory reported) and returns their ids.
func (f *Fleet) AddGroup(spec GroupSpec, age time.Duration) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	if err := f.CreateGroupLocked(spec, now.Add(-age)); err != nil {
		return nil, err
	}
	g := f.groups[spec.Name]
	ids := make([]string, 0, g.Desired)
	for range g.Desired {
		in, err := f.launchMemberLocked(g, now.Add(-age), "an instance was started in response to a difference between desired and actual capacity.")
		if err != nil {
			delete(f.groups, spec.Name)
			return nil, err
		}
		f.settleLocked(in, now, age)
		ids = append(ids, in.ID)
	}
	f.TouchLocked()
	return ids, nil
}

// settleLocked makes a freshly created instance look launched age ago.
func (f *Fleet) settleLocked(in *Instance, now time.Time, age time.Duration) {
	in.LaunchTime = now.Add(-age)
	in.readyAt = in.LaunchTime
	in.State = StateRunning
	if in.Lifecycle == LCPending || in.Lifecycle == LCPendingWait {
		in.Lifecycle = LCInService
	}
	if in.activity != nil {
		in.activity.Status, in.activity.Start, in.activity.End = "Successful", in.LaunchTime, in.LaunchTime
	}
	in.inventoryAt = in.LaunchTime.Add(min(f.opts.InventoryDelay, age))
}

// AddInstances launches count standalone instances of image, running since
// age ago, and returns their ids.
func (f *Fleet) AddInstances(image, instanceType string, count int, tags map[string]string, age time.Duration) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.amis[image] == nil {
		return nil, fmt.Errorf("image %s not found", image)
	}
	now := f.now()
	var ids []string
	for i := range count {
		t := map[string]string{}
		for k, v := range tags {
			t[k] = v
		}
		in := f.NewInstanceLocked(image, instanceType, f.opts.Region+string(rune('a'+i%3)), t, now, 0)
		f.settleLocked(in, now, age)
		ids = append(ids, in.ID)
	}
	f.TouchLocked()
	return ids, nil
}
