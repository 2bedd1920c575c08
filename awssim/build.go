package awssim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
)

// PackageSpec describes an installed package.
type PackageSpec struct {
	Name      string `json:"name" yaml:"name"`
	Version   string `json:"version" yaml:"version"` // deb: the full Debian version ([epoch:]upstream[-revision])
	Release   string `json:"release,omitempty" yaml:"release,omitempty"`
	Epoch     string `json:"epoch,omitempty" yaml:"epoch,omitempty"`
	Arch      string `json:"arch,omitempty" yaml:"arch,omitempty"`
	Publisher string `json:"publisher,omitempty" yaml:"publisher,omitempty"`
}

// FileSpec describes a file reported by Custom:FileDigest (and AWS:File).
type FileSpec struct {
	Path   string `json:"path" yaml:"path"`
	SHA256 string `json:"sha256" yaml:"sha256"`
	Size   int64  `json:"size" yaml:"size"`
}

// ServiceSpec describes a systemd unit reported by Custom:SystemdUnit.
type ServiceSpec struct {
	Name          string `json:"name" yaml:"name"`
	ActiveState   string `json:"activeState,omitempty" yaml:"activeState,omitempty"`     // active (default) | inactive | failed
	UnitFileState string `json:"unitFileState,omitempty" yaml:"unitFileState,omitempty"` // enabled (default) | disabled
}

// GenerateSpec asks for count synthetic packages, deterministic for a seed.
type GenerateSpec struct {
	Count  int    `json:"count" yaml:"count"`
	Seed   uint64 `json:"seed" yaml:"seed"`
	Format string `json:"format" yaml:"format"` // rpm | deb
}

// AMISpec describes an AMI and its baseline content.
type AMISpec struct {
	ID              string             `json:"id,omitempty" yaml:"id,omitempty"`
	Name            string             `json:"name" yaml:"name"`
	Description     string             `json:"description,omitempty" yaml:"description,omitempty"`
	Platform        string             `json:"platform,omitempty" yaml:"platform,omitempty"` // "" or windows
	PlatformName    string             `json:"platformName,omitempty" yaml:"platformName,omitempty"`
	PlatformVersion string             `json:"platformVersion,omitempty" yaml:"platformVersion,omitempty"`
	Architecture    string             `json:"architecture,omitempty" yaml:"architecture,omitempty"`
	Format          string             `json:"format,omitempty" yaml:"format,omitempty"` // rpm (default) | deb
	Created         time.Time          `json:"created,omitempty" yaml:"created,omitempty"`
	Tags            map[string]string  `json:"tags,omitempty" yaml:"tags,omitempty"`
	Packages        []PackageSpec      `json:"packages,omitempty" yaml:"packages,omitempty"`
	Generate        *GenerateSpec      `json:"generate,omitempty" yaml:"generate,omitempty"`
	Files           []FileSpec         `json:"files,omitempty" yaml:"files,omitempty"`
	Services        []ServiceSpec      `json:"services,omitempty" yaml:"services,omitempty"`
	Inventory       map[string][]Entry `json:"inventory,omitempty" yaml:"inventory,omitempty"` // extra raw types
	// ManifestParameter, when set, publishes the AMI's baseline manifest (JSON
	// in driftd's native manifest shape) to this Parameter Store name;
	// "{ami}" is replaced by the AMI id. As with real parameters (4 KB
	// standard tier), a manifest too large to hold inline is stored in S3
	// (s3://ManifestBucket/manifests/<ami>.json) and the parameter holds that
	// s3:// URI, the usual golden-image pipeline layout.
	ManifestParameter string `json:"manifestParameter,omitempty" yaml:"manifestParameter,omitempty"`
}

const amazonOwner = "137112412989"

// AddAMI registers an AMI and returns its id.
func (s *Sim) AddAMI(spec AMISpec) (string, error) {
	f := s.fleet
	f.mu.Lock()
	defer f.mu.Unlock()
	a, err := f.addAMILocked(spec, s.Now())
	if err != nil {
		return "", err
	}
	if spec.ManifestParameter != "" {
		b, _ := manifestJSON(a)
		value := string(b)
		if len(b) > standardParameterLimit {
			key := "manifests/" + a.ID + ".json"
			s.extra.PutObject(ManifestBucket, key, b)
			value = "s3://" + ManifestBucket + "/" + key
		}
		s.params.put(strings.ReplaceAll(spec.ManifestParameter, "{ami}", a.ID), "String", value, true, s.Now())
	}
	return a.ID, nil
}

// ManifestBucket holds published manifests too large for a parameter.
const ManifestBucket = "awssim-golden-manifests"

// standardParameterLimit is the value size of a standard-tier parameter.
const standardParameterLimit = 4096

func (f *fleet) addAMILocked(spec AMISpec, now time.Time) (*AMI, error) {
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
	if format != "rpm" && format != "deb" {
		return nil, fmt.Errorf("ami %s: format %q is not rpm or deb", spec.Name, format)
	}
	a := &AMI{ID: id, Name: spec.Name, Description: spec.Description, OwnerID: f.opts.AccountID,
		Architecture: spec.Architecture, Platform: spec.Platform, PlatformName: spec.PlatformName,
		PlatformVersion: spec.PlatformVersion, PackageFormat: format, CreationDate: spec.Created,
		Tags: map[string]string{}, Inventory: map[string]*TypeData{}}
	for k, v := range spec.Tags {
		a.Tags[k] = v
	}
	if a.Architecture == "" {
		a.Architecture = "x86_64"
	}
	if a.CreationDate.IsZero() {
		a.CreationDate = now.Add(-14 * 24 * time.Hour)
	}
	if a.PlatformName == "" {
		a.PlatformName, a.PlatformVersion = "Amazon Linux", "2023"
		if format == "deb" {
			a.PlatformName, a.PlatformVersion = "Debian GNU/Linux", "12"
		}
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
		pkgs = append(pkgs, GeneratePackages(g.Count, g.Seed, gf)...)
	}
	installed := a.CreationDate.Add(-time.Hour)
	if len(pkgs) > 0 {
		entries := make([]Entry, 0, len(pkgs))
		for i, p := range pkgs {
			if p.Name == "" || p.Version == "" {
				return nil, fmt.Errorf("ami %s: packages[%d]: name and version are required", spec.Name, i)
			}
			entries = append(entries, packageEntry(p, format, a.Architecture, installed))
		}
		a.Inventory[TypeApplication] = NewTypeData(TypeApplication, "", entries)
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
		if !validTypeName(t) {
			return nil, fmt.Errorf("ami %s: inventory type %q is not AWS:* or Custom:*", spec.Name, t)
		}
		a.Inventory[t] = NewTypeData(t, "", es)
	}
	f.amis[id] = a
	f.amiOrder = append(f.amiOrder, id)
	return a, nil
}

func packageEntry(p PackageSpec, format, amiArch string, installed time.Time) Entry {
	arch := p.Arch
	if format == "deb" {
		if arch == "" {
			arch = map[string]string{"x86_64": "amd64", "arm64": "arm64"}[amiArch]
		}
		pub := p.Publisher
		if pub == "" {
			pub = "Debian Maintainers <debian-devel@lists.debian.org>"
		}
		return Entry{"Name": p.Name, "Version": p.Version, "Architecture": arch, "Publisher": pub,
			"PackageId": p.Name + "_" + p.Version + "_" + arch + ".deb", "ApplicationType": "admin",
			"Summary": p.Name + " package"}
	}
	if arch == "" {
		arch = map[string]string{"x86_64": "x86_64", "arm64": "aarch64"}[amiArch]
	}
	pub := p.Publisher
	if pub == "" {
		pub = "Amazon Linux"
	}
	e := Entry{"Name": p.Name, "Version": p.Version, "Architecture": arch, "Publisher": pub,
		"InstalledTime": installed.UTC().Format(time.RFC3339), "ApplicationType": "System Environment/Base",
		"Summary": p.Name + " package"}
	if p.Release != "" {
		e["Release"] = p.Release
		e["PackageId"] = p.Name + "-" + p.Version + "-" + p.Release + ".src.rpm"
	} else {
		e["PackageId"] = p.Name + "-" + p.Version + ".src.rpm"
	}
	if p.Epoch != "" && p.Epoch != "0" {
		e["Epoch"] = p.Epoch
	}
	return e
}

func fileDigestEntry(fs FileSpec) Entry {
	return Entry{"Path": fs.Path, "SHA256": fs.SHA256, "Size": fmt.Sprint(fs.Size)}
}

func fileEntry(fs FileSpec, t time.Time) Entry {
	dir, name := "/", fs.Path
	if i := strings.LastIndex(fs.Path, "/"); i >= 0 {
		dir, name = fs.Path[:i], fs.Path[i+1:]
		if dir == "" {
			dir = "/"
		}
	}
	return Entry{"Name": name, "InstalledDir": dir, "Size": fmt.Sprint(fs.Size), "ModificationTime": t.UTC().Format(time.RFC3339)}
}

func unitEntry(sv ServiceSpec) Entry {
	as, uf := sv.ActiveState, sv.UnitFileState
	if as == "" {
		as = "active"
	}
	if uf == "" {
		uf = "enabled"
	}
	return Entry{"Name": sv.Name, "ActiveState": as, "UnitFileState": uf}
}

var corePackages = []string{"bash", "coreutils", "glibc", "openssl-libs", "openssh-server", "systemd", "curl", "ca-certificates",
	"tzdata", "sudo", "python3", "kernel", "chrony", "rsyslog", "amazon-ssm-agent", "zlib", "libcurl", "krb5-libs", "nss", "tar"}

var nameParts = []string{"lib", "perl", "python3", "golang", "node", "xml", "gtk", "font", "util", "net", "crypt", "sql", "http", "json", "yaml"}

// GeneratePackages returns count deterministic synthetic packages in rpm or
// deb style (names unique, realistic version strings).
func GeneratePackages(count int, seed uint64, format string) []PackageSpec {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	out := make([]PackageSpec, 0, count)
	for i := range count {
		var name string
		if i < len(corePackages) {
			name = corePackages[i]
			if format == "deb" && name == "openssl-libs" {
				name = "libssl3"
			}
		} else {
			name = fmt.Sprintf("%s-%s-%d", nameParts[r.IntN(len(nameParts))], nameParts[r.IntN(len(nameParts))], i)
		}
		ver := fmt.Sprintf("%d.%d.%d", r.IntN(10), r.IntN(40), r.IntN(100))
		if format == "deb" {
			v := ver + "-" + fmt.Sprint(1+r.IntN(5))
			if r.IntN(4) == 0 {
				v += "+deb12u" + fmt.Sprint(1+r.IntN(3))
			}
			if r.IntN(10) == 0 {
				v = "1:" + v
			}
			out = append(out, PackageSpec{Name: name, Version: v})
			continue
		}
		p := PackageSpec{Name: name, Version: ver, Release: fmt.Sprintf("%d.amzn2023.0.%d", 1+r.IntN(5), r.IntN(10))}
		if r.IntN(12) == 0 {
			p.Epoch = fmt.Sprint(1 + r.IntN(3))
		}
		if r.IntN(15) == 0 {
			p.Arch = "noarch"
		}
		out = append(out, p)
	}
	return out
}

// manifestJSON renders an AMI's baseline in driftd's native manifest shape
// (field names of drift.Manifest, schema_version 1).
func manifestJSON(a *AMI) ([]byte, error) {
	type pkg struct {
		Name    string `json:"name"`
		Arch    string `json:"arch,omitempty"`
		Epoch   string `json:"epoch,omitempty"`
		Version string `json:"version"`
		Release string `json:"release,omitempty"`
	}
	type file struct {
		Path   string `json:"path"`
		Size   *int64 `json:"size,omitempty"` // a number, as driftd's native manifest format has it
		SHA256 string `json:"sha256,omitempty"`
	}
	type svc struct {
		Name    string `json:"name"`
		State   string `json:"state,omitempty"`
		Enabled string `json:"enabled,omitempty"`
	}
	m := struct {
		SchemaVersion int    `json:"schema_version"`
		AMI           string `json:"ami_id"`
		Name          string `json:"name"`
		PackageFormat string `json:"package_format"`
		Packages      []pkg  `json:"packages"`
		Files         []file `json:"files,omitempty"`
		Services      []svc  `json:"services,omitempty"`
	}{SchemaVersion: 1, AMI: a.ID, Name: a.Name, PackageFormat: a.PackageFormat, Packages: []pkg{}}
	if td := a.Inventory[TypeApplication]; td != nil {
		for _, e := range td.Entries {
			p := pkg{Name: e["Name"], Arch: e["Architecture"], Epoch: e["Epoch"], Version: e["Version"], Release: e["Release"]}
			if a.PackageFormat == "deb" { // split the Debian version for the manifest
				v := p.Version
				if ep, rest, ok := strings.Cut(v, ":"); ok {
					p.Epoch, v = ep, rest
				}
				if i := strings.LastIndex(v, "-"); i > 0 {
					v, p.Release = v[:i], v[i+1:]
				}
				p.Version = v
			}
			m.Packages = append(m.Packages, p)
		}
	}
	if td := a.Inventory[TypeFileDigest]; td != nil {
		for _, e := range td.Entries {
			f := file{Path: e["Path"], SHA256: e["SHA256"]}
			if n, err := strconv.ParseInt(e["Size"], 10, 64); err == nil {
				f.Size = &n
			}
			m.Files = append(m.Files, f)
		}
	}
	if td := a.Inventory[TypeSystemdUnit]; td != nil {
		for _, e := range td.Entries {
			m.Services = append(m.Services, svc{Name: e["Name"], State: e["ActiveState"], Enabled: e["UnitFileState"]})
		}
	}
	return json.MarshalIndent(m, "", "  ")
}

// Manifest returns the AMI's baseline manifest as driftd native JSON.
func (s *Sim) Manifest(amiID string) ([]byte, error) {
	s.fleet.mu.RLock()
	defer s.fleet.mu.RUnlock()
	a := s.fleet.amis[amiID]
	if a == nil {
		return nil, fmt.Errorf("ami %s not found", amiID)
	}
	return manifestJSON(a)
}

// AddLaunchTemplate creates a launch template whose versions launch the
// given images (version i+1 = images[i]); the default version is the last.
func (s *Sim) AddLaunchTemplate(name, instanceType string, images ...string) (string, error) {
	if len(images) == 0 {
		return "", fmt.Errorf("launch template %s: at least one image is required", name)
	}
	f := s.fleet
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ltByName[name] != nil {
		return "", fmt.Errorf("launch template %s already exists", name)
	}
	now := s.Now()
	lt := f.createLTLocked(name, images[0], instanceType, "", now)
	for _, im := range images[1:] {
		lt.Versions = append(lt.Versions, &LTVersion{Number: len(lt.Versions) + 1, ImageID: im, InstanceType: instanceType, Created: now})
	}
	lt.DefaultVersion = len(lt.Versions)
	return lt.ID, nil
}

// AddLaunchTemplateVersion adds a version launching image and optionally
// makes it the default; it returns the version number.
func (s *Sim) AddLaunchTemplateVersion(ltName, image string, makeDefault bool) (int, error) {
	f := s.fleet
	f.mu.Lock()
	defer f.mu.Unlock()
	lt := f.ltByName[ltName]
	if lt == nil {
		return 0, fmt.Errorf("launch template %s not found", ltName)
	}
	last := lt.Versions[len(lt.Versions)-1]
	v := &LTVersion{Number: len(lt.Versions) + 1, ImageID: image, InstanceType: last.InstanceType, Created: s.Now()}
	lt.Versions = append(lt.Versions, v)
	if makeDefault {
		lt.DefaultVersion = v.Number
	}
	return v.Number, nil
}

// GroupSpec describes an Auto Scaling group.
type GroupSpec struct {
	Name                  string            `json:"name" yaml:"name"`
	LaunchTemplateID      string            `json:"launchTemplateId,omitempty" yaml:"launchTemplateId,omitempty"`
	LaunchTemplateName    string            `json:"launchTemplate,omitempty" yaml:"launchTemplate,omitempty"`
	LaunchTemplateVersion string            `json:"version,omitempty" yaml:"version,omitempty"` // $Default (default), $Latest or a number
	Min                   int               `json:"min" yaml:"min"`
	Max                   int               `json:"max" yaml:"max"`
	Desired               int               `json:"desired" yaml:"desired"`
	AZs                   []string          `json:"azs,omitempty" yaml:"azs,omitempty"`
	HealthCheckType       string            `json:"healthCheckType,omitempty" yaml:"healthCheckType,omitempty"`
	Grace                 int               `json:"healthCheckGracePeriod,omitempty" yaml:"healthCheckGracePeriod,omitempty"`
	Tags                  []GroupTag        `json:"-" yaml:"-"`
	TagMap                map[string]string `json:"tags,omitempty" yaml:"tags,omitempty"` // propagated at launch
	Suspended             []string          `json:"suspended,omitempty" yaml:"suspended,omitempty"`
	Hooks                 []HookSpec        `json:"lifecycleHooks,omitempty" yaml:"lifecycleHooks,omitempty"`
	NewInstancesProtected bool              `json:"newInstancesProtectedFromScaleIn,omitempty" yaml:"newInstancesProtectedFromScaleIn,omitempty"`
	VPCZoneIdentifier     string            `json:"vpcZoneIdentifier,omitempty" yaml:"vpcZoneIdentifier,omitempty"`
}

// HookSpec describes a lifecycle hook.
type HookSpec struct {
	Name       string        `json:"name" yaml:"name"`
	Transition string        `json:"transition" yaml:"transition"` // terminating | launching (or the full autoscaling:EC2_INSTANCE_* name)
	Timeout    time.Duration `json:"timeout" yaml:"timeout"`
	// DefaultResult applies when the hook times out: CONTINUE (default) or
	// ABANDON (a launching instance is then terminated).
	DefaultResult string `json:"defaultResult,omitempty" yaml:"defaultResult,omitempty"`
}

func (f *fleet) createGroupLocked(spec GroupSpec, now time.Time) error {
	if spec.Name == "" {
		return fmt.Errorf("group: name is required")
	}
	if f.groups[spec.Name] != nil {
		return fmt.Errorf("group %s already exists", spec.Name)
	}
	lt, err := f.findLT(spec.LaunchTemplateID, spec.LaunchTemplateName)
	if err != nil {
		return fmt.Errorf("group %s: %s", spec.Name, err.Message)
	}
	ver := spec.LaunchTemplateVersion
	if ver == "" {
		ver = "$Default"
	}
	if _, ok := lt.resolve(ver); !ok {
		return fmt.Errorf("group %s: launch template %s has no version %s", spec.Name, lt.Name, ver)
	}
	if spec.Min < 0 || spec.Min > spec.Max || spec.Desired < spec.Min || spec.Desired > spec.Max {
		return fmt.Errorf("group %s: desired capacity %d must be between min %d and max %d", spec.Name, spec.Desired, spec.Min, spec.Max)
	}
	g := &Group{Name: spec.Name, Min: spec.Min, Max: spec.Max, Desired: spec.Desired, LTID: lt.ID, LTVersion: ver,
		AZs: spec.AZs, HealthCheckType: spec.HealthCheckType, Grace: spec.Grace, DefaultCooldown: 300, Created: now,
		Suspended: map[string]string{}, NewInstancesProtected: spec.NewInstancesProtected, VPCZoneIdentifier: spec.VPCZoneIdentifier,
		ARN: fmt.Sprintf("arn:aws:autoscaling:%s:%s:autoScalingGroup:%s:autoScalingGroupName/%s", f.opts.Region, f.opts.AccountID, f.uuid(), spec.Name)}
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
		if !contains(scalingProcesses, p) {
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
func (s *Sim) AddGroup(spec GroupSpec, age time.Duration) ([]string, error) {
	f := s.fleet
	f.mu.Lock()
	defer f.mu.Unlock()
	now := s.Now()
	if err := f.createGroupLocked(spec, now.Add(-age)); err != nil {
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
	f.touchLocked()
	return ids, nil
}

// settleLocked makes a freshly created instance look launched age ago.
func (f *fleet) settleLocked(in *Instance, now time.Time, age time.Duration) {
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
func (s *Sim) AddInstances(image, instanceType string, count int, tags map[string]string, age time.Duration) ([]string, error) {
	f := s.fleet
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.amis[image] == nil {
		return nil, fmt.Errorf("image %s not found", image)
	}
	now := s.Now()
	var ids []string
	for i := range count {
		t := map[string]string{}
		for k, v := range tags {
			t[k] = v
		}
		in := f.newInstanceLocked(image, instanceType, f.opts.Region+string(rune('a'+i%3)), t, now, 0)
		f.settleLocked(in, now, age)
		ids = append(ids, in.ID)
	}
	f.touchLocked()
	return ids, nil
}
