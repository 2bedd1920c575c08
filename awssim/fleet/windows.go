package fleet

import (
	"bytes"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	packageurl "github.com/package-url/packageurl-go"
)

// Windows inventory. On a Windows instance amazon-ssm-agent reports, besides
// AWS:Application, the installed updates (AWS:WindowsUpdate), the services
// (AWS:Service) and the roles and features (AWS:WindowsRole); the gatherers
// are registered for Windows only (agent/plugins/inventory/gatherers/
// models_windows.go). The entries below have the fields and values of the
// agent's PowerShell queries; docs/awssim.md cites each source.
const (
	TypeService       = "AWS:Service"
	TypeWindowsUpdate = "AWS:WindowsUpdate"
	TypeWindowsRole   = "AWS:WindowsRole"
)

// FormatWindows is the package format of a Windows AMI: its packages are
// Add/Remove Programs entries (AWS:Application as the agent's Windows
// provider reports them).
const FormatWindows = "windows"

// Defaults of a Windows AMI's SSM platform (DescribeInstanceInformation).
const (
	WindowsPlatformName    = "Microsoft Windows Server 2022 Datacenter"
	WindowsPlatformVersion = "10.0.20348"
)

// UpdateSpec is an installed Windows update, a Win32_QuickFixEngineering row.
type UpdateSpec struct {
	HotFixID    string `json:"hotFixId" yaml:"hotFixId"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"` // Update (default), Security Update, Hotfix
	InstalledBy string `json:"installedBy,omitempty" yaml:"installedBy,omitempty"` // default NT AUTHORITY\SYSTEM
}

// WindowsServiceSpec is a Windows service as Get-Service lists it.
type WindowsServiceSpec struct {
	Name               string   `json:"name" yaml:"name"`
	DisplayName        string   `json:"displayName,omitempty" yaml:"displayName,omitempty"` // default Name
	Status             string   `json:"status,omitempty" yaml:"status,omitempty"`           // Running (default), Stopped, ...
	StartType          string   `json:"startType,omitempty" yaml:"startType,omitempty"`     // Automatic (default), Manual, Disabled, Boot, System
	ServiceType        string   `json:"serviceType,omitempty" yaml:"serviceType,omitempty"` // Win32OwnProcess (default), Win32ShareProcess
	DependentServices  []string `json:"dependentServices,omitempty" yaml:"dependentServices,omitempty"`
	ServicesDependedOn []string `json:"servicesDependedOn,omitempty" yaml:"servicesDependedOn,omitempty"`
}

// RoleSpec is a Windows Server role, role service or feature as
// Get-WindowsFeature lists it. Every feature the server offers is listed;
// Available ones are offered but not installed.
type RoleSpec struct {
	Name        string   `json:"name" yaml:"name"`
	DisplayName string   `json:"displayName,omitempty" yaml:"displayName,omitempty"` // default Name
	Description string   `json:"description,omitempty" yaml:"description,omitempty"`
	FeatureType string   `json:"featureType,omitempty" yaml:"featureType,omitempty"` // Role, Role Service, Feature (default)
	Path        string   `json:"path,omitempty" yaml:"path,omitempty"`               // default DisplayName
	Parent      string   `json:"parent,omitempty" yaml:"parent,omitempty"`
	SubFeatures []string `json:"subFeatures,omitempty" yaml:"subFeatures,omitempty"`
	DependsOn   []string `json:"dependsOn,omitempty" yaml:"dependsOn,omitempty"`
	Available   bool     `json:"available,omitempty" yaml:"available,omitempty"` // offered, not installed
}

// windowsArch is the agent's Architecture of a Windows application: it
// reads the 32-bit uninstall keys (Wow6432Node) as model.Arch32Bit, i386,
// and the native ones as model.Arch64Bit, x86_64; a spec may say x86/x64
// too. "" is the AMI's (64-bit) view.
func windowsArch(arch string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(arch)) {
	case "", "x64", "x86_64", "amd64":
		return "x86_64", nil
	case "x86", "i386", "i686", "386":
		return "i386", nil
	}
	return "", fmt.Errorf("architecture %q is not x64 (x86_64) or x86 (i386)", arch)
}

// windowsAppEntry renders p as the agent's Windows application provider
// reports it (agent/plugins/inventory/gatherers/application/
// dataProvider_windows.go): its PowerShell query selects DisplayName as
// Name, PSChildName (the uninstall key: an MSI product code or a name) as
// PackageId, DisplayVersion as Version, Publisher, and InstallDate
// (yyyyMMdd) as InstalledTime (yyyy-MM-ddTHH:mm:ssZ, midnight); the Go side
// adds Architecture. Version and Publisher are always present (possibly
// empty); InstalledTime is omitted when empty; there is no ApplicationType,
// URL, Summary, Release or Epoch.
func windowsAppEntry(p PackageSpec, installed time.Time) (Entry, error) {
	arch, err := windowsArch(p.Arch)
	if err != nil {
		return nil, err
	}
	e := Entry{"Name": p.Name, "Publisher": p.Publisher, "Version": p.Version, "Architecture": arch,
		"PackageId": productCode(p.Name, arch)}
	if !installed.IsZero() {
		y, m, d := installed.UTC().Date()
		e["InstalledTime"] = time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Format(time.RFC3339)
	}
	return e, nil
}

// productCode is a deterministic MSI product code ({GUID}) for an
// application, the uninstall key name of an MSI install.
func productCode(name, arch string) string {
	h := md5.Sum([]byte(name + "\x00" + arch))
	return fmt.Sprintf("{%X-%X-%X-%X-%X}", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// updateEntry renders u as the agent's AWS:WindowsUpdate gatherer reports it
// (gatherers/windowsUpdate/windowsUpdateGatherer.go): Get-WmiObject
// win32_quickfixengineering selecting HotFixId, Description,
// InstalledOn.DateTime as InstalledTime and InstalledBy, through
// ConvertTo-Json. InstalledOn is a date; its DateTime property is the long
// date and time of the instance's culture (en-US on AWS's Windows AMIs:
// "Tuesday, January 9, 2024 12:00:00 AM"), not RFC 3339.
func updateEntry(u UpdateSpec, installed time.Time) Entry {
	desc, by := u.Description, u.InstalledBy
	if desc == "" {
		desc = "Update"
	}
	if by == "" {
		by = `NT AUTHORITY\SYSTEM`
	}
	y, m, d := installed.UTC().Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return Entry{"HotFixId": u.HotFixID, "Description": desc, "InstalledTime": day.Format("Monday, January 2, 2006 3:04:05 PM"), "InstalledBy": by}
}

// serviceEntry renders s as the agent's AWS:Service gatherer reports it
// (gatherers/service/dataProvider.go): Get-Service selecting Name,
// DisplayName, Status, DependentServices, ServicesDependedOn, ServiceType
// and StartType, each interpolated into a JSON string by PowerShell.
// Status, ServiceType and StartType are enum names. DependentServices and
// ServicesDependedOn are arrays of ServiceController objects: PowerShell
// expands an array in a string as its elements' ToString() joined by
// spaces, and a ServiceController's is its type name, so the agent reports
// "System.ServiceProcess.ServiceController" once per related service, not
// their names.
func serviceEntry(s WindowsServiceSpec) Entry {
	or := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	related := func(names []string) string {
		return strings.TrimSpace(strings.Repeat("System.ServiceProcess.ServiceController ", len(names)))
	}
	return Entry{"Name": s.Name, "DisplayName": or(s.DisplayName, s.Name), "Status": or(s.Status, "Running"),
		"DependentServices": related(s.DependentServices), "ServicesDependedOn": related(s.ServicesDependedOn),
		"ServiceType": or(s.ServiceType, "Win32OwnProcess"), "StartType": or(s.StartType, "Automatic")}
}

// roleEntry renders r as the agent's AWS:WindowsRole gatherer reports it
// (gatherers/role/dataProvider.go): Get-WindowsFeature selecting Name,
// DisplayName, Description, Installed (a boolean: "True" or "False"),
// InstallState as InstalledState (Installed, Available, ...), FeatureType,
// Path, SubFeatures and DependsOn (string arrays: space-joined in the
// string), ServerComponentDescriptor and Parent. Every marked field keeps
// its first line (pluginutil.CleanupJSONField).
func roleEntry(r RoleSpec) Entry {
	or := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	installed, state := "True", "Installed"
	if r.Available {
		installed, state = "False", "Available"
	}
	display := or(r.DisplayName, r.Name)
	desc := r.Description
	if i := strings.IndexByte(desc, '\n'); i >= 0 {
		desc = desc[:i]
	}
	return Entry{"Name": r.Name, "DisplayName": display, "Description": desc, "Installed": installed,
		"InstalledState": state, "FeatureType": or(r.FeatureType, "Feature"), "Path": or(r.Path, display),
		"SubFeatures": strings.Join(r.SubFeatures, " "), "ServerComponentDescriptor": "ServerComponent_" + strings.ReplaceAll(r.Name, "-", "_"),
		"DependsOn": strings.Join(r.DependsOn, " "), "Parent": r.Parent}
}

// checkPlatformSpec rejects content a platform does not report: systemd
// units and generated rpm/deb packages on Windows, Windows updates,
// services and roles elsewhere.
func checkPlatformSpec(spec AMISpec, format string) error {
	if format == FormatWindows {
		switch {
		case spec.Platform != "" && spec.Platform != "windows":
			return fmt.Errorf("ami %s: format windows needs platform windows, not %q", spec.Name, spec.Platform)
		case len(spec.Services) > 0:
			return fmt.Errorf("ami %s: services are systemd units; a Windows AMI lists windowsServices", spec.Name)
		case spec.Generate != nil:
			return fmt.Errorf("ami %s: generate makes rpm or deb packages, not Windows applications", spec.Name)
		case spec.Architecture != "" && spec.Architecture != "x86_64":
			return fmt.Errorf("ami %s: a Windows AMI is x86_64, not %s", spec.Name, spec.Architecture)
		}
		return nil
	}
	if len(spec.Updates) > 0 || len(spec.WindowsServices) > 0 || len(spec.Roles) > 0 {
		return fmt.Errorf("ami %s: updates, windowsServices and roles need format windows", spec.Name)
	}
	if spec.Platform == "windows" {
		return fmt.Errorf("ami %s: platform windows needs format windows", spec.Name)
	}
	return nil
}

// addWindowsInventory builds a Windows AMI's AWS:WindowsUpdate,
// AWS:Service and AWS:WindowsRole content (schema version 1.0 each).
func addWindowsInventory(a *AMI, spec AMISpec, installed time.Time) error {
	if len(spec.Updates) > 0 {
		var es []Entry
		seen := map[string]bool{}
		for i, u := range spec.Updates {
			id := strings.ToUpper(strings.TrimSpace(u.HotFixID))
			if !kbID(id) {
				return fmt.Errorf("ami %s: updates[%d]: hotFixId %q is not KB and digits", spec.Name, i, u.HotFixID)
			}
			if seen[id] {
				return fmt.Errorf("ami %s: updates[%d]: %s is listed twice", spec.Name, i, id)
			}
			seen[id] = true
			u.HotFixID = id
			es = append(es, updateEntry(u, installed))
		}
		a.Inventory[TypeWindowsUpdate] = NewTypeData(TypeWindowsUpdate, SchemaDefault, es)
	}
	if len(spec.WindowsServices) > 0 {
		var es []Entry
		for i, s := range spec.WindowsServices {
			if strings.TrimSpace(s.Name) == "" {
				return fmt.Errorf("ami %s: windowsServices[%d]: name is required", spec.Name, i)
			}
			es = append(es, serviceEntry(s))
		}
		a.Inventory[TypeService] = NewTypeData(TypeService, SchemaDefault, es)
	}
	if len(spec.Roles) > 0 {
		var es []Entry
		for i, r := range spec.Roles {
			if strings.TrimSpace(r.Name) == "" {
				return fmt.Errorf("ami %s: roles[%d]: name is required", spec.Name, i)
			}
			es = append(es, roleEntry(r))
		}
		a.Inventory[TypeWindowsRole] = NewTypeData(TypeWindowsRole, SchemaDefault, es)
	}
	return nil
}

// kbID reports whether s is KB followed by digits.
func kbID(s string) bool {
	if len(s) < 3 || !strings.HasPrefix(s, "KB") {
		return false
	}
	for _, c := range s[2:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// setWindowsServiceLocked stops (and with disable, disables) a Windows
// service the instance reports: Status Stopped, StartType Disabled.
func (f *Fleet) setWindowsServiceLocked(in *Instance, name string, disable bool) error {
	var e Entry
	if td := in.Effective(TypeService); td != nil {
		for _, x := range td.Entries {
			if x["Name"] == name {
				e = maps.Clone(x)
				break
			}
		}
	}
	if e == nil {
		return fmt.Errorf("instance %s: service %s is not installed", in.ID, name)
	}
	e["Status"] = "Stopped"
	if disable {
		e["StartType"] = "Disabled"
	}
	f.mutateLocked(in, TypeService, func(o *overlay) { setEntry(o, TypeService, e) })
	return nil
}

// updateLocked installs or removes a Windows update on a Windows instance.
func (f *Fleet) updateLocked(in *Instance, d Drift, now time.Time) error {
	if in.ami == nil || in.ami.Platform != "windows" {
		return fmt.Errorf("instance %s: %s applies to Windows instances", in.ID, d.Action)
	}
	if d.Update == nil {
		return fmt.Errorf("instance %s: %s needs update.hotFixId", in.ID, d.Action)
	}
	u := *d.Update
	u.HotFixID = strings.ToUpper(strings.TrimSpace(u.HotFixID))
	if !kbID(u.HotFixID) {
		return fmt.Errorf("instance %s: update.hotFixId %q is not KB and digits", in.ID, d.Update.HotFixID)
	}
	installed := false
	if td := in.Effective(TypeWindowsUpdate); td != nil {
		for _, e := range td.Entries {
			installed = installed || e["HotFixId"] == u.HotFixID
		}
	}
	if d.Action == DriftRemoveUpdate {
		if !installed {
			return fmt.Errorf("instance %s: update %s is not installed", in.ID, u.HotFixID)
		}
		f.mutateLocked(in, TypeWindowsUpdate, func(o *overlay) { delEntry(o, u.HotFixID) })
		return nil
	}
	f.mutateLocked(in, TypeWindowsUpdate, func(o *overlay) { setEntry(o, TypeWindowsUpdate, updateEntry(u, now)) })
	return nil
}

// windowsManifestJSON renders a Windows AMI's baseline in driftd's native
// manifest shape: applications with publisher and architecture as the
// agent reports them, installed updates, services by status and start
// type, and the installed roles and features (the available ones are not
// part of the image).
func windowsManifestJSON(a *AMI) ([]byte, error) {
	type pkg struct {
		Name      string `json:"name"`
		Publisher string `json:"publisher,omitempty"`
		Arch      string `json:"arch,omitempty"`
		Version   string `json:"version"`
	}
	type update struct {
		HotFixID    string `json:"hotfix_id"`
		Description string `json:"description,omitempty"`
	}
	type svc struct {
		Name      string `json:"name"`
		Status    string `json:"status,omitempty"`
		StartType string `json:"start_type,omitempty"`
	}
	type role struct {
		Name        string `json:"name"`
		DisplayName string `json:"display_name,omitempty"`
		FeatureType string `json:"feature_type,omitempty"`
	}
	m := struct {
		SchemaVersion int      `json:"schema_version"`
		AMI           string   `json:"ami_id"`
		Name          string   `json:"name"`
		OSFamily      string   `json:"os_family"`
		PackageFormat string   `json:"package_format"`
		Packages      []pkg    `json:"packages"`
		Updates       []update `json:"updates,omitempty"`
		Services      []svc    `json:"services,omitempty"`
		Roles         []role   `json:"roles,omitempty"`
	}{SchemaVersion: 1, AMI: a.ID, Name: a.Name, OSFamily: "windows", PackageFormat: FormatWindows, Packages: []pkg{}}
	if td := a.Inventory[TypeApplication]; td != nil {
		for _, e := range td.Entries {
			m.Packages = append(m.Packages, pkg{Name: e["Name"], Publisher: e["Publisher"], Arch: e["Architecture"], Version: e["Version"]})
		}
	}
	if td := a.Inventory[TypeWindowsUpdate]; td != nil {
		for _, e := range td.Entries {
			m.Updates = append(m.Updates, update{HotFixID: e["HotFixId"], Description: e["Description"]})
		}
	}
	if td := a.Inventory[TypeService]; td != nil {
		for _, e := range td.Entries {
			m.Services = append(m.Services, svc{Name: e["Name"], Status: e["Status"], StartType: e["StartType"]})
		}
	}
	if td := a.Inventory[TypeWindowsRole]; td != nil {
		for _, e := range td.Entries {
			if e["Installed"] == "True" {
				m.Roles = append(m.Roles, role{Name: e["Name"], DisplayName: e["DisplayName"], FeatureType: e["FeatureType"]})
			}
		}
	}
	return json.MarshalIndent(m, "", "  ")
}

// The demo's Windows Server 2022 IIS image: what AWS's Windows AMIs and an
// IIS build install, 64- and 32-bit applications (one product in both),
// cumulative and .NET updates, the services an IIS server runs, and a
// slice of the roles and features Windows Server offers (most available,
// not installed).
var demoWindowsApps = []PackageSpec{
	{Name: "Amazon SSM Agent", Publisher: "Amazon Web Services", Version: "3.3.1142.0"},
	{Name: "aws-cfn-bootstrap", Publisher: "Amazon Web Services", Version: "2.0.29"},
	{Name: "AWS PV Drivers", Publisher: "Amazon Web Services", Version: "8.4.3"},
	{Name: "AWS NVMe Driver", Publisher: "Amazon Web Services", Version: "1.5.1"},
	{Name: "Amazon EC2Launch", Publisher: "Amazon Web Services", Version: "2.0.1924.0"},
	{Name: "AWS Tools for Windows", Publisher: "Amazon Web Services Developer Relations", Version: "4.1.588.0", Arch: "x86"},
	{Name: "Amazon CloudWatch Agent", Publisher: "Amazon.com, Inc.", Version: "1.300044.0"},
	{Name: "Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.38.33135", Publisher: "Microsoft Corporation", Version: "14.38.33135.0", Arch: "x86"},
	{Name: "Microsoft Visual C++ 2015-2022 Redistributable (x86) - 14.38.33135", Publisher: "Microsoft Corporation", Version: "14.38.33135.0", Arch: "x86"},
	{Name: "Microsoft Edge", Publisher: "Microsoft Corporation", Version: "130.0.2849.80", Arch: "x86"},
	{Name: "IIS URL Rewrite Module 2", Publisher: "Microsoft Corporation", Version: "7.2.1993"},
	{Name: "Contoso Storefront", Publisher: "Contoso Ltd.", Version: "4.12.0.318"},
	{Name: "Contoso Line-of-Business Agent", Publisher: "Contoso Ltd.", Version: "10.0.19041.1"},
	{Name: "Contoso Line-of-Business Agent", Publisher: "Contoso Ltd.", Version: "10.0.19041.1", Arch: "x86"},
}

var demoWindowsUpdates = []UpdateSpec{
	{HotFixID: "KB5034439", Description: "Security Update"},
	{HotFixID: "KB5034129", Description: "Security Update"},
	{HotFixID: "KB5033914", Description: "Update"},
	{HotFixID: "KB5012170", Description: "Security Update"},
	{HotFixID: "KB5034612", Description: "Update"},
}

var demoWindowsServices = []WindowsServiceSpec{
	{Name: "AmazonSSMAgent", DisplayName: "Amazon SSM Agent"},
	{Name: "AmazonCloudWatchAgent", DisplayName: "Amazon CloudWatch Agent"},
	{Name: "W3SVC", DisplayName: "World Wide Web Publishing Service", ServiceType: "Win32ShareProcess", ServicesDependedOn: []string{"WAS", "HTTP"}},
	{Name: "WAS", DisplayName: "Windows Process Activation Service", ServiceType: "Win32ShareProcess", DependentServices: []string{"W3SVC"}},
	{Name: "W32Time", DisplayName: "Windows Time", ServiceType: "Win32ShareProcess"},
	{Name: "WinRM", DisplayName: "Windows Remote Management (WS-Management)", ServiceType: "Win32ShareProcess"},
	{Name: "EventLog", DisplayName: "Windows Event Log", ServiceType: "Win32ShareProcess"},
	{Name: "Dnscache", DisplayName: "DNS Client", ServiceType: "Win32ShareProcess"},
	{Name: "LanmanServer", DisplayName: "Server", ServiceType: "Win32ShareProcess"},
	{Name: "WinDefend", DisplayName: "Microsoft Defender Antivirus Service"},
	{Name: "Spooler", DisplayName: "Print Spooler", Status: "Stopped", StartType: "Disabled"},
	{Name: "wuauserv", DisplayName: "Windows Update", Status: "Stopped", StartType: "Manual", ServiceType: "Win32ShareProcess"},
	{Name: "TrustedInstaller", DisplayName: "Windows Modules Installer", Status: "Stopped", StartType: "Manual"},
	{Name: "RemoteRegistry", DisplayName: "Remote Registry", Status: "Stopped", StartType: "Automatic", ServiceType: "Win32ShareProcess"},
}

var demoWindowsRoles = []RoleSpec{
	{Name: "FileAndStorage-Services", DisplayName: "File and Storage Services", FeatureType: "Role", SubFeatures: []string{"Storage-Services"}},
	{Name: "Storage-Services", DisplayName: "Storage Services", FeatureType: "Role Service", Parent: "FileAndStorage-Services", Path: `File and Storage Services\Storage Services`},
	{Name: "Web-Server", DisplayName: "Web Server (IIS)", FeatureType: "Role", SubFeatures: []string{"Web-WebServer", "Web-Mgmt-Tools", "Web-Ftp-Server"},
		Description: "Web Server (IIS) provides a reliable, manageable, and scalable Web application infrastructure."},
	{Name: "Web-WebServer", DisplayName: "Web Server", FeatureType: "Role Service", Parent: "Web-Server", Path: `Web Server (IIS)\Web Server`},
	{Name: "Web-Mgmt-Tools", DisplayName: "Management Tools", FeatureType: "Role Service", Parent: "Web-Server", Path: `Web Server (IIS)\Management Tools`},
	{Name: "Web-Ftp-Server", DisplayName: "FTP Server", FeatureType: "Role Service", Parent: "Web-Server", Path: `Web Server (IIS)\FTP Server`, Available: true},
	{Name: "NET-Framework-45-Features", DisplayName: ".NET Framework 4.8 Features", FeatureType: "Feature", SubFeatures: []string{"NET-Framework-45-Core"}},
	{Name: "NET-Framework-45-Core", DisplayName: ".NET Framework 4.8", FeatureType: "Feature", Parent: "NET-Framework-45-Features", Path: `.NET Framework 4.8 Features\.NET Framework 4.8`},
	{Name: "PowerShellRoot", DisplayName: "Windows PowerShell", FeatureType: "Feature", SubFeatures: []string{"PowerShell"}},
	{Name: "PowerShell", DisplayName: "Windows PowerShell 5.1", FeatureType: "Feature", Parent: "PowerShellRoot", Path: `Windows PowerShell\Windows PowerShell 5.1`},
	{Name: "Windows-Defender", DisplayName: "Microsoft Defender Antivirus", FeatureType: "Feature"},
	{Name: "AD-Domain-Services", DisplayName: "Active Directory Domain Services", FeatureType: "Role", Available: true},
	{Name: "DHCP", DisplayName: "DHCP Server", FeatureType: "Role", Available: true},
	{Name: "Hyper-V", DisplayName: "Hyper-V", FeatureType: "Role", Available: true},
	{Name: "Telnet-Client", DisplayName: "Telnet Client", Available: true},
	{Name: "SNMP-Service", DisplayName: "SNMP Service", Available: true},
}

// windowsCycloneDXJSON renders a Windows AMI's applications and installed
// updates as a CycloneDX 1.5 SBOM: the operating system as a component
// named by its platform name, each application a component of type
// application with its publisher and the purl for programs outside a
// package ecosystem, pkg:generic/<name>@<version>?arch=x64|x86
// (package-url/purl-spec types/generic-definition.json), each KB a
// pkg:generic/<KB id> component. Services and roles have no SBOM form.
func windowsCycloneDXJSON(a *AMI) ([]byte, error) {
	bom := cdx.NewBOM()
	bom.SpecVersion, bom.JSONSchema, bom.XMLNS = cdx.SpecVersion1_5, "http://cyclonedx.org/schema/bom-1.5.schema.json", ""
	bom.SerialNumber = "urn:uuid:" + uuidFrom(a.ID)
	bom.Metadata = &cdx.Metadata{
		Timestamp: a.CreationDate.UTC().Format(time.RFC3339),
		Tools:     &cdx.ToolsChoice{Components: &[]cdx.Component{{Type: cdx.ComponentTypeApplication, Name: "awssim"}}},
		Component: &cdx.Component{BOMRef: a.ID, Type: cdx.ComponentTypeApplication, Name: a.ID, Description: a.Name},
	}
	comps := []cdx.Component{{BOMRef: "os", Type: cdx.ComponentTypeOS, Name: a.PlatformName, Version: a.PlatformVersion}}
	if td := a.Inventory[TypeApplication]; td != nil {
		for _, e := range td.Entries {
			arch := "x64"
			if e["Architecture"] == "i386" {
				arch = "x86"
			}
			purl := packageurl.NewPackageURL(packageurl.TypeGeneric, "", e["Name"], e["Version"],
				packageurl.QualifiersFromMap(map[string]string{"arch": arch}), "").ToString()
			comps = append(comps, cdx.Component{BOMRef: purl, Type: cdx.ComponentTypeApplication, Name: e["Name"], Version: e["Version"],
				Publisher: e["Publisher"], PackageURL: purl})
		}
	}
	if td := a.Inventory[TypeWindowsUpdate]; td != nil {
		for _, e := range td.Entries {
			purl := packageurl.NewPackageURL(packageurl.TypeGeneric, "", e["HotFixId"], "", nil, "").ToString()
			comps = append(comps, cdx.Component{BOMRef: purl, Type: cdx.ComponentTypeApplication, Name: e["HotFixId"], Description: e["Description"], PackageURL: purl})
		}
	}
	bom.Components = &comps
	var buf bytes.Buffer
	enc := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON)
	enc.SetPretty(true).SetEscapeHTML(false)
	if err := enc.Encode(bom); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
