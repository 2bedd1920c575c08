package ssm_test

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

func TestListInventoryEntries(t *testing.T) {
	e := simtest.New(t, awssim.Options{}, awssim.DemoScenario())
	web := e.Sim.GroupMembers("web")
	// an undrifted member reports the AMI baseline: 420 packages
	all, last, pages := simtest.ListAll(t, e, web[3], awssim.TypeApplication, 0)
	if len(all) != 420 || pages != 9 {
		t.Fatalf("got %d entries in %d pages, want 420 in 9", len(all), pages)
	}
	if last.CaptureTime == nil || !simtest.CaptureRE.MatchString(*last.CaptureTime) || *last.SchemaVersion != "1.1" || *last.TypeName != awssim.TypeApplication {
		t.Fatalf("bad metadata: %v %v %v", aws.ToString(last.CaptureTime), aws.ToString(last.SchemaVersion), aws.ToString(last.TypeName))
	}
	seen := map[string]bool{}
	for _, en := range all {
		if en["Name"] == "" || en["Version"] == "" || en["Architecture"] == "" || en["PackageId"] == "" {
			t.Fatalf("incomplete rpm entry %v", en)
		}
		if seen[en["Name"]+en["Architecture"]] {
			t.Fatalf("duplicate entry %v", en)
		}
		seen[en["Name"]+en["Architecture"]] = true
	}
	// page size 7 → 60 pages, same content
	all7, _, pages7 := simtest.ListAll(t, e, web[3], awssim.TypeApplication, 7)
	if len(all7) != 420 || pages7 != 60 {
		t.Fatalf("MaxResults 7: %d entries in %d pages", len(all7), pages7)
	}
	// the drifted member (web[0]) has one package more
	d, _, _ := simtest.ListAll(t, e, web[0], awssim.TypeApplication, 50)
	found := false
	for _, en := range d {
		if en["Name"] == "nmap-ncat" && en["Version"] == "7.93" && en["Release"] == "1.amzn2023.0.1" {
			found = true
		}
	}
	if len(d) != 421 || !found {
		t.Fatalf("drifted instance: %d entries, nmap-ncat found=%v", len(d), found)
	}
	// upgraded package (web[1]) carries the new EVR
	u, _, _ := simtest.ListAll(t, e, web[1], awssim.TypeApplication, 50)
	for _, en := range u {
		if en["Name"] == "openssl-libs" && (en["Version"] != "3.2.2" || en["Epoch"] != "1") {
			t.Fatalf("upgrade not visible: %v", en)
		}
	}
	// Debian entries as the agent reports them: Version holds the full
	// Debian version, no Release, and dpkg's amd64 is reported as x86_64
	// (PackageId keeps dpkg's spelling)
	api := e.Sim.GroupMembers("api")
	deb, _, _ := simtest.ListAll(t, e, api[0], awssim.TypeApplication, 50)
	_, hasRelease := deb[0]["Release"]
	if len(deb) != 310 || hasRelease || deb[0]["Architecture"] != "x86_64" || !strings.HasSuffix(deb[0]["PackageId"], "_amd64.deb") ||
		!regexp.MustCompile(`-\d`).MatchString(deb[0]["Version"]) {
		t.Fatalf("deb entries: %d %v", len(deb), deb[0])
	}
	// custom types
	units, _, _ := simtest.ListAll(t, e, e.Sim.GroupMembers("worker")[0], awssim.TypeSystemdUnit, 0)
	stopped := false
	for _, u := range units {
		if u["Name"] == "chronyd.service" && u["ActiveState"] == "inactive" {
			stopped = true
		}
	}
	if !stopped {
		t.Fatalf("stopped service not reported: %v", units)
	}
	// stale inventory: CaptureTime 72h in the past
	_, st, _ := simtest.ListAll(t, e, web[5], awssim.TypeApplication, 50)
	ct, _ := time.Parse(time.RFC3339, *st.CaptureTime)
	if age := e.Sim.Now().Sub(ct); age < 72*time.Hour {
		t.Fatalf("stale instance CaptureTime age %v", age)
	}
	// fresh instance CaptureTime is within the inventory interval
	ct, _ = time.Parse(time.RFC3339, *last.CaptureTime)
	if age := e.Sim.Now().Sub(ct); age < 0 || age > 30*time.Minute {
		t.Fatalf("fresh CaptureTime age %v", age)
	}
}

func TestListInventoryEntriesErrors(t *testing.T) {
	e := simtest.New(t, awssim.Options{}, awssim.DemoScenario())
	id := e.Sim.GroupMembers("web")[2]
	cases := []struct {
		name  string
		in    *ssm.ListInventoryEntriesInput
		check func(error) bool
	}{
		{"malformed id", &ssm.ListInventoryEntriesInput{InstanceId: aws.String("i-zz"), TypeName: aws.String(awssim.TypeApplication)},
			func(err error) bool { var x *ssmtypes.InvalidInstanceId; return errors.As(err, &x) }},
		{"unknown id", &ssm.ListInventoryEntriesInput{InstanceId: aws.String("i-0123456789abcdef0"), TypeName: aws.String(awssim.TypeApplication)},
			func(err error) bool { var x *ssmtypes.InvalidInstanceId; return errors.As(err, &x) }},
		{"unknown type", &ssm.ListInventoryEntriesInput{InstanceId: aws.String(id), TypeName: aws.String("AWS:Packages")},
			func(err error) bool { var x *ssmtypes.InvalidTypeNameException; return errors.As(err, &x) }},
		{"bad type prefix", &ssm.ListInventoryEntriesInput{InstanceId: aws.String(id), TypeName: aws.String("Foo:Bar")},
			func(err error) bool { var x *ssmtypes.InvalidTypeNameException; return errors.As(err, &x) }},
		{"forged token", &ssm.ListInventoryEntriesInput{InstanceId: aws.String(id), TypeName: aws.String(awssim.TypeApplication), NextToken: aws.String("AAAA.BBBB")},
			func(err error) bool { var x *ssmtypes.InvalidNextToken; return errors.As(err, &x) }},
		{"max too high", &ssm.ListInventoryEntriesInput{InstanceId: aws.String(id), TypeName: aws.String(awssim.TypeApplication), MaxResults: aws.Int32(51)},
			func(err error) bool { return simtest.APICode(err) == "ValidationException" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.SSM.ListInventoryEntries(e.Ctx, c.in)
			if err == nil || !c.check(err) {
				t.Fatalf("unexpected error %T %v", err, err)
			}
		})
	}
	// a token for one instance is not valid for another
	out, err := e.SSM.ListInventoryEntries(e.Ctx, &ssm.ListInventoryEntriesInput{InstanceId: aws.String(id), TypeName: aws.String(awssim.TypeApplication)})
	if err != nil || out.NextToken == nil {
		t.Fatal(err)
	}
	other := e.Sim.GroupMembers("web")[3]
	_, err = e.SSM.ListInventoryEntries(e.Ctx, &ssm.ListInventoryEntriesInput{InstanceId: aws.String(other), TypeName: aws.String(awssim.TypeApplication), NextToken: out.NextToken})
	var x *ssmtypes.InvalidNextToken
	if !errors.As(err, &x) {
		t.Fatalf("token replayed on another instance: %v", err)
	}
	// a custom type no instance of the account ever reported: an error, not an empty list
	_, err = e.SSM.ListInventoryEntries(e.Ctx, &ssm.ListInventoryEntriesInput{InstanceId: aws.String(id), TypeName: aws.String("Custom:Nothing")})
	var tn *ssmtypes.InvalidTypeNameException
	if !errors.As(err, &tn) {
		t.Fatalf("undefined custom type: %v", err)
	}
}

func TestInventoryDelayForNewInstances(t *testing.T) {
	e := simtest.New(t, awssim.Options{LaunchDelay: 30 * time.Second, InventoryDelay: 2 * time.Minute}, awssim.DemoScenario())
	old := e.Sim.GroupMembers("worker")
	if err := e.Sim.Inject(old[1], awssim.Drift{Action: awssim.DriftHeal}); err != nil {
		t.Fatal(err)
	}
	// Terminate a worker through the group and wait for the replacement.
	e.Clock.Advance(time.Second)
	if _, err := e.EC2.TerminateInstances(e.Ctx, nil); err == nil {
		t.Fatal("TerminateInstances without ids must fail")
	}
	e.Sim.Fleet().Lock()
	g := e.Sim.Fleet().GroupLocked("worker")
	g.Hooks = nil
	e.Sim.Fleet().Unlock()
	if _, err := e.Sim.Instance(old[1]); !err {
		t.Fatal("instance missing")
	}
	_, err := e.ASG.TerminateInstanceInAutoScalingGroup(e.Ctx, simtest.ASGTerminate(old[1], false))
	if err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(time.Second)
	var fresh string
	for _, id := range e.Sim.GroupMembers("worker") {
		if !slices.Contains(old, id) {
			fresh = id
		}
	}
	if fresh == "" {
		t.Fatal("no replacement launched")
	}
	e.Clock.Advance(40 * time.Second) // InService, inventory not yet reported
	out, err := e.SSM.ListInventoryEntries(e.Ctx, &ssm.ListInventoryEntriesInput{InstanceId: aws.String(fresh), TypeName: aws.String(awssim.TypeApplication)})
	if err != nil || len(out.Entries) != 0 || out.CaptureTime != nil {
		t.Fatalf("before first report: err=%v entries=%d capture=%v", err, len(out.Entries), out.CaptureTime)
	}
	e.Clock.Advance(2 * time.Minute)
	all, last, _ := simtest.ListAll(t, e, fresh, awssim.TypeApplication, 0)
	if len(all) != 420 || last.CaptureTime == nil {
		t.Fatalf("after first report: %d entries", len(all))
	}
}
