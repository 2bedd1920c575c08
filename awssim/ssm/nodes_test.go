package ssm_test

import (
	"errors"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

// TestDescribeInstanceInformationInvalidIDs: naming an id the API cannot
// describe fails the whole call with InvalidInstanceId, in both filter
// forms, with the ids listed in AWS's message form.
func TestDescribeInstanceInformationInvalidIDs(t *testing.T) {
	e := simtest.New(t, awssim.Options{TerminateDelay: 10 * time.Second, TerminatedRetention: time.Hour}, nil)
	ami, err := e.Sim.AddAMI(awssim.AMISpec{Name: "base", Packages: []awssim.PackageSpec{{Name: "bash", Version: "5.2", Release: "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := e.Sim.AddInstances(ami, "m7i.large", 6, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(ids)
	good := ids[:2]
	unregistered, shuttingDown, terminated := ids[2], ids[3], ids[4]
	if err := e.Sim.Inject(unregistered, awssim.Drift{Action: awssim.DriftUnregister}); err != nil {
		t.Fatal(err)
	}
	terminate(e, t, terminated)
	e.Clock.Advance(11 * time.Second) // terminated is now terminated
	terminate(e, t, shuttingDown)     // and this one shutting-down
	if v, _ := e.Sim.Instance(shuttingDown); v.State != awssim.StateShuttingDown {
		t.Fatalf("state %s", v.State)
	}
	if v, _ := e.Sim.Instance(terminated); v.State != awssim.StateTerminated {
		t.Fatalf("state %s", v.State)
	}
	foreign := "i-0fedcba9876543210"

	call := func(legacy bool, vals []string) (*ssm.DescribeInstanceInformationOutput, error) {
		in := &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(50)}
		if legacy {
			in.InstanceInformationFilterList = []ssmtypes.InstanceInformationFilter{{Key: ssmtypes.InstanceInformationFilterKeyInstanceIds, ValueSet: vals}}
		} else {
			in.Filters = []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: vals}}
		}
		return e.SSM.DescribeInstanceInformation(e.Ctx, in)
	}
	for _, legacy := range []bool{false, true} {
		out, err := call(legacy, good)
		if err != nil || len(out.InstanceInformationList) != 2 {
			t.Fatalf("legacy=%v good ids: %v", legacy, err)
		}
		for _, tc := range []struct {
			name string
			vals []string
			bad  []string
		}{
			{"never registered", []string{good[0], unregistered, good[1]}, []string{unregistered}},
			{"shutting-down", []string{shuttingDown, good[0]}, []string{shuttingDown}},
			{"terminated", []string{good[1], terminated}, []string{terminated}},
			{"outside the account", []string{foreign}, []string{foreign}},
			{"several", []string{terminated, good[0], foreign, unregistered}, []string{terminated, foreign, unregistered}},
		} {
			_, err := call(legacy, tc.vals)
			var inv *ssmtypes.InvalidInstanceId
			if !errors.As(err, &inv) {
				t.Fatalf("legacy=%v %s: want InvalidInstanceId, got %v", legacy, tc.name, err)
			}
			want := "Instances [[" + strings.Join(tc.bad, ", ") + "]] not in a valid state for account 123456789012"
			if inv.ErrorMessage() != want {
				t.Errorf("legacy=%v %s: message %q, want %q", legacy, tc.name, inv.ErrorMessage(), want)
			}
		}
	}
	// The unfiltered listing never fails: it lists the describable nodes.
	out, err := e.SSM.DescribeInstanceInformation(e.Ctx, &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(50),
		Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("ResourceType"), Values: []string{"EC2Instance"}}}})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, ii := range out.InstanceInformationList {
		listed = append(listed, *ii.InstanceId)
	}
	sort.Strings(listed)
	if want := []string{ids[0], ids[1], ids[5]}; strings.Join(listed, ",") != strings.Join(want, ",") {
		t.Fatalf("listed %v, want %v", listed, want)
	}
	// register undoes unregister.
	if err := e.Sim.Inject(unregistered, awssim.Drift{Action: awssim.DriftRegister}); err != nil {
		t.Fatal(err)
	}
	if _, err := call(false, []string{unregistered}); err != nil {
		t.Fatalf("registered again: %v", err)
	}
}

func terminate(e *simtest.Env, t *testing.T, id string) {
	t.Helper()
	if _, ok := e.Sim.Instance(id); !ok {
		t.Fatalf("no instance %s", id)
	}
	e.Sim.Fleet().TerminateNow(id)
}

// TestCustomTypesDefinedPerAccount: a Custom:* type no instance of the
// account ever reported is unknown to the account (InvalidTypeNameException
// for every instance); once one instance carries it, the others answer an
// empty list, and GetInventorySchema agrees.
func TestCustomTypesDefinedPerAccount(t *testing.T) {
	e := simtest.New(t, awssim.Options{}, nil)
	plain, err := e.Sim.AddAMI(awssim.AMISpec{Name: "plain", Packages: []awssim.PackageSpec{{Name: "bash", Version: "5.2", Release: "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	units, err := e.Sim.AddAMI(awssim.AMISpec{Name: "units", Packages: []awssim.PackageSpec{{Name: "bash", Version: "5.2", Release: "1"}},
		Services: []awssim.ServiceSpec{{Name: "sshd.service"}}})
	if err != nil {
		t.Fatal(err)
	}
	old, err := e.Sim.AddInstances(plain, "m7i.large", 3, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := e.Sim.AddInstances(units, "m7i.large", 1, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// Its agent never registered, so it never reported its AMI's content.
	if err := e.Sim.Inject(fresh[0], awssim.Drift{Action: awssim.DriftUnregister}); err != nil {
		t.Fatal(err)
	}
	list := func(id, typ string) (*ssm.ListInventoryEntriesOutput, error) {
		return e.SSM.ListInventoryEntries(e.Ctx, &ssm.ListInventoryEntriesInput{InstanceId: aws.String(id), TypeName: aws.String(typ)})
	}
	schemaTypes := func() []string {
		out, err := e.SSM.GetInventorySchema(e.Ctx, &ssm.GetInventorySchemaInput{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range out.Schemas {
			names = append(names, *s.TypeName)
		}
		return names
	}
	undefined := func(when string) {
		t.Helper()
		for _, id := range append(append([]string(nil), old...), fresh...) {
			_, err := list(id, awssim.TypeSystemdUnit)
			var tn *ssmtypes.InvalidTypeNameException
			if !errors.As(err, &tn) {
				t.Fatalf("%s: %s: want InvalidTypeNameException, got %v", when, id, err)
			}
		}
		if got := schemaTypes(); slices.Contains(got, awssim.TypeSystemdUnit) {
			t.Fatalf("%s: schema lists %s: %v", when, awssim.TypeSystemdUnit, got)
		}
	}
	undefined("AMI content never reported")
	// AWS:* types are never "undefined": an instance without data answers empty.
	if out, err := list(old[0], "AWS:WindowsUpdate"); err != nil || len(out.Entries) != 0 || out.CaptureTime != nil {
		t.Fatalf("AWS type without data: %v %+v", err, out)
	}

	// The instance registers and reports inventory: its AMI's custom type exists now.
	if err := e.Sim.Inject(fresh[0], awssim.Drift{Action: awssim.DriftRegister}); err != nil {
		t.Fatal(err)
	}
	out, err := list(fresh[0], awssim.TypeSystemdUnit)
	if err != nil || len(out.Entries) != 1 || out.CaptureTime == nil {
		t.Fatalf("reporting instance: %v %+v", err, out)
	}
	out, err = list(old[0], awssim.TypeSystemdUnit)
	if err != nil || len(out.Entries) != 0 || out.CaptureTime != nil {
		t.Fatalf("instance without the type, type defined: %v %+v", err, out)
	}
	if got := schemaTypes(); !slices.Contains(got, awssim.TypeSystemdUnit) {
		t.Fatalf("schema lacks %s: %v", awssim.TypeSystemdUnit, got)
	}
	// Defined stays defined, even when the instance that carried it is gone.
	terminate(e, t, fresh[0])
	if _, err := list(old[1], awssim.TypeSystemdUnit); err != nil {
		t.Fatalf("after termination: %v", err)
	}

	// PutInventory defines a type at once.
	if _, err := list(old[0], "Custom:Agent"); err == nil {
		t.Fatal("Custom:Agent defined before any instance reported it")
	}
	_, err = e.SSM.PutInventory(e.Ctx, &ssm.PutInventoryInput{InstanceId: aws.String(old[2]), Items: []ssmtypes.InventoryItem{{
		TypeName: aws.String("Custom:Agent"), SchemaVersion: aws.String("1.0"), CaptureTime: aws.String("2026-11-20T12:00:00Z"),
		Content: []map[string]string{{"Name": "x"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := list(old[0], "Custom:Agent"); err != nil || len(out.Entries) != 0 {
		t.Fatalf("after PutInventory on another instance: %v %+v", err, out)
	}
	if got := schemaTypes(); !slices.Contains(got, "Custom:Agent") {
		t.Fatalf("schema lacks Custom:Agent: %v", got)
	}
	// Reset forgets the account's types.
	e.Sim.Reset()
	if _, err := e.Sim.AddAMI(awssim.AMISpec{Name: "plain", Packages: []awssim.PackageSpec{{Name: "bash", Version: "5.2", Release: "1"}}}); err != nil {
		t.Fatal(err)
	}
	ids, err := e.Sim.AddInstances(plain, "m7i.large", 1, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := list(ids[0], "Custom:Agent"); err == nil {
		t.Fatal("Custom:Agent survived Reset")
	}
}

// TestDescribeInstanceInformationTokenScope: a NextToken is only valid with
// the filters it was minted for.
func TestDescribeInstanceInformationTokenScope(t *testing.T) {
	e := simtest.New(t, awssim.Options{}, awssim.DemoScenario())
	out, err := e.SSM.DescribeInstanceInformation(e.Ctx, &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(5),
		Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("PingStatus"), Values: []string{"Online"}}}})
	if err != nil || out.NextToken == nil {
		t.Fatalf("first page: %v", err)
	}
	_, err = e.SSM.DescribeInstanceInformation(e.Ctx, &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(5), NextToken: out.NextToken,
		Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("PingStatus"), Values: []string{"ConnectionLost"}}}})
	var x *ssmtypes.InvalidNextToken
	if !errors.As(err, &x) {
		t.Fatalf("token replayed with other filter values: %v", err)
	}
}
