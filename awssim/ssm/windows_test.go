package ssm_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

// keysOf returns an entry's attribute names, sorted.
func keysOf(e map[string]string) []string {
	ks := make([]string, 0, len(e))
	for k := range e {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// A Windows node of the demo reports what the agent's Windows gatherers
// report, field for field: applications (no rpm/dpkg fields), installed
// updates, services and every role and feature, and its agent says
// PlatformType Windows.
func TestListInventoryEntriesWindows(t *testing.T) {
	e := simtest.New(t, awssim.Options{}, awssim.DemoScenario())
	iis := e.Sim.GroupMembers("iis")
	pristine := iis[0]

	info, err := e.SSM.DescribeInstanceInformation(e.Ctx, &ssm.DescribeInstanceInformationInput{
		Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: []string{pristine}}}})
	if err != nil || len(info.InstanceInformationList) != 1 {
		t.Fatalf("DescribeInstanceInformation: %v", err)
	}
	if ii := info.InstanceInformationList[0]; ii.PlatformType != ssmtypes.PlatformTypeWindows ||
		aws.ToString(ii.PlatformName) != "Microsoft Windows Server 2022 Datacenter" || aws.ToString(ii.PlatformVersion) != "10.0.20348" {
		t.Errorf("platform %s %q %q", ii.PlatformType, aws.ToString(ii.PlatformName), aws.ToString(ii.PlatformVersion))
	}

	midnight := regexp.MustCompile(`^20\d\d-\d\d-\d\dT00:00:00Z$`)
	guid := regexp.MustCompile(`^\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}$`)
	apps, last, _ := simtest.ListAll(t, e, pristine, awssim.TypeApplication, 0)
	if aws.ToString(last.SchemaVersion) != "1.1" || len(apps) != 14 {
		t.Fatalf("AWS:Application: %d entries, schema %s", len(apps), aws.ToString(last.SchemaVersion))
	}
	archs := map[string]int{}
	for _, a := range apps {
		if got := strings.Join(keysOf(a), ","); got != "Architecture,InstalledTime,Name,PackageId,Publisher,Version" {
			t.Fatalf("application fields %s: %v", got, a)
		}
		if !midnight.MatchString(a["InstalledTime"]) || !guid.MatchString(a["PackageId"]) {
			t.Errorf("application %v", a)
		}
		archs[a["Architecture"]]++
	}
	if archs["x86_64"] != 9 || archs["i386"] != 5 || len(archs) != 2 {
		t.Errorf("architectures %v, want x86_64 and i386 only", archs)
	}

	longDate := regexp.MustCompile(`^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), [A-Z][a-z]+ \d{1,2}, 20\d\d 12:00:00 AM$`)
	kbs, last, _ := simtest.ListAll(t, e, pristine, awssim.TypeWindowsUpdate, 0)
	if aws.ToString(last.SchemaVersion) != "1.0" || len(kbs) != 5 {
		t.Fatalf("AWS:WindowsUpdate: %d entries, schema %s", len(kbs), aws.ToString(last.SchemaVersion))
	}
	for _, k := range kbs {
		if got := strings.Join(keysOf(k), ","); got != "Description,HotFixId,InstalledBy,InstalledTime" ||
			!longDate.MatchString(k["InstalledTime"]) || k["InstalledBy"] != `NT AUTHORITY\SYSTEM` || !strings.HasPrefix(k["HotFixId"], "KB") {
			t.Errorf("update %v", k)
		}
	}

	svcs, _, _ := simtest.ListAll(t, e, pristine, awssim.TypeService, 0)
	byName := map[string]map[string]string{}
	for _, s := range svcs {
		if got := strings.Join(keysOf(s), ","); got != "DependentServices,DisplayName,Name,ServiceType,ServicesDependedOn,StartType,Status" {
			t.Fatalf("service fields %s", got)
		}
		byName[s["Name"]] = s
	}
	if w := byName["W3SVC"]; len(svcs) != 14 || w["Status"] != "Running" || w["StartType"] != "Automatic" || w["ServiceType"] != "Win32ShareProcess" ||
		w["ServicesDependedOn"] != "System.ServiceProcess.ServiceController System.ServiceProcess.ServiceController" || w["DependentServices"] != "" {
		t.Errorf("%d services, W3SVC %v", len(svcs), w)
	}

	roles, _, _ := simtest.ListAll(t, e, pristine, awssim.TypeWindowsRole, 0)
	installed := 0
	for _, r := range roles {
		if got := strings.Join(keysOf(r), ","); got != "DependsOn,Description,DisplayName,FeatureType,Installed,InstalledState,Name,Parent,Path,ServerComponentDescriptor,SubFeatures" {
			t.Fatalf("role fields %s", got)
		}
		switch {
		case r["Installed"] == "True" && r["InstalledState"] == "Installed":
			installed++
		case r["Installed"] == "False" && r["InstalledState"] == "Available":
		default:
			t.Errorf("role %v", r)
		}
		if r["Name"] == "Web-WebServer" && (r["Path"] != `Web Server (IIS)\Web Server` || r["Parent"] != "Web-Server" || r["FeatureType"] != "Role Service") {
			t.Errorf("Web-WebServer %v", r)
		}
	}
	if len(roles) != 16 || installed != 10 {
		t.Errorf("%d roles, %d installed", len(roles), installed)
	}

	// The drifted members: a KB more, an application upgraded in place
	// (same publisher, same 64-bit install, the 32-bit one untouched), a
	// service disabled and stopped.
	kbs1, _, _ := simtest.ListAll(t, e, iis[1], awssim.TypeWindowsUpdate, 0)
	if len(kbs1) != 6 || !slices.ContainsFunc(kbs1, func(k map[string]string) bool {
		return k["HotFixId"] == "KB5035857" && k["Description"] == "Security Update"
	}) {
		t.Errorf("KB added: %v", kbs1)
	}
	apps2, _, _ := simtest.ListAll(t, e, iis[2], awssim.TypeApplication, 0)
	var contoso []string
	for _, a := range apps2 {
		if a["Name"] == "Contoso Line-of-Business Agent" {
			contoso = append(contoso, a["Architecture"]+" "+a["Version"]+" "+a["Publisher"])
		}
	}
	slices.Sort(contoso)
	if strings.Join(contoso, "; ") != "i386 10.0.19041.1 Contoso Ltd.; x86_64 10.0.19041.2 Contoso Ltd." {
		t.Errorf("application upgraded: %v", contoso)
	}
	svcs3, _, _ := simtest.ListAll(t, e, iis[3], awssim.TypeService, 0)
	for _, s := range svcs3 {
		if s["Name"] == "W3SVC" && (s["StartType"] != "Disabled" || s["Status"] != "Stopped" || s["DisplayName"] != "World Wide Web Publishing Service") {
			t.Errorf("service disabled: %v", s)
		}
	}

	// A Linux node has none of the Windows types: no entries, no capture time.
	web := e.Sim.GroupMembers("web")[3]
	for _, typ := range []string{awssim.TypeWindowsUpdate, awssim.TypeService, awssim.TypeWindowsRole} {
		out, err := e.SSM.ListInventoryEntries(e.Ctx, &ssm.ListInventoryEntriesInput{InstanceId: aws.String(web), TypeName: aws.String(typ)})
		if err != nil || len(out.Entries) != 0 || out.CaptureTime != nil {
			t.Errorf("Linux node, %s: %v %d entries, capture %v", typ, err, len(out.Entries), aws.ToString(out.CaptureTime))
		}
	}
}
