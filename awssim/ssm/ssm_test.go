package ssm_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

func TestDescribeInstanceInformation(t *testing.T) {
	e := simtest.New(t, awssim.Options{}, awssim.DemoScenario())
	p := ssm.NewDescribeInstanceInformationPaginator(e.SSM, &ssm.DescribeInstanceInformationInput{})
	var all []ssmtypes.InstanceInformation
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(e.Ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, out.InstanceInformationList...)
	}
	if len(all) != 42 || pages != 5 { // default MaxResults 10
		t.Fatalf("got %d nodes in %d pages", len(all), pages)
	}
	lost := 0
	for _, ii := range all {
		if ii.PingStatus == ssmtypes.PingStatusConnectionLost {
			lost++
		}
		if ii.LastPingDateTime == nil || ii.LastPingDateTime.IsZero() || *ii.AgentVersion == "" || ii.PlatformType == "" ||
			*ii.PlatformName == "" || ii.ResourceType != ssmtypes.ResourceTypeEc2Instance || *ii.IPAddress == "" || *ii.ComputerName == "" {
			t.Fatalf("incomplete: %+v", ii)
		}
	}
	if lost != 1 {
		t.Fatalf("ConnectionLost nodes = %d, want 1", lost)
	}
	out, err := e.SSM.DescribeInstanceInformation(e.Ctx, &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(50),
		Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("PingStatus"), Values: []string{"ConnectionLost"}}}})
	if err != nil || len(out.InstanceInformationList) != 1 || *out.InstanceInformationList[0].InstanceId != e.Sim.GroupMembers("api")[7] {
		t.Fatalf("PingStatus filter: %v", err)
	}
	out, err = e.SSM.DescribeInstanceInformation(e.Ctx, &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(50),
		InstanceInformationFilterList: []ssmtypes.InstanceInformationFilter{{Key: ssmtypes.InstanceInformationFilterKeyInstanceIds, ValueSet: e.Sim.GroupMembers("web")[:3]}}})
	if err != nil || len(out.InstanceInformationList) != 3 {
		t.Fatalf("legacy filter: %v", err)
	}
	out, err = e.SSM.DescribeInstanceInformation(e.Ctx, &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(50),
		Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("tag:team"), Values: []string{"payments"}}}})
	if err != nil || len(out.InstanceInformationList) != 10 {
		t.Fatalf("tag filter: %v", err)
	}
	cases := []struct {
		name string
		in   *ssm.DescribeInstanceInformationInput
		ok   func(error) bool
	}{
		{"max 4", &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(4)}, func(err error) bool { return simtest.APICode(err) == "ValidationException" }},
		{"max 51", &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(51)}, func(err error) bool { return simtest.APICode(err) == "ValidationException" }},
		{"unknown id", &ssm.DescribeInstanceInformationInput{Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: []string{"i-0123456789abcdef0"}}}},
			func(err error) bool { var x *ssmtypes.InvalidInstanceId; return errors.As(err, &x) }},
		{"bad key", &ssm.DescribeInstanceInformationInput{Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("Color"), Values: []string{"x"}}}},
			func(err error) bool { var x *ssmtypes.InvalidFilterKey; return errors.As(err, &x) }},
		{"both lists", &ssm.DescribeInstanceInformationInput{Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("PingStatus"), Values: []string{"Online"}}},
			InstanceInformationFilterList: []ssmtypes.InstanceInformationFilter{{Key: ssmtypes.InstanceInformationFilterKeyPingStatus, ValueSet: []string{"Online"}}}},
			func(err error) bool { var x *ssmtypes.InvalidInstanceInformationFilterValue; return errors.As(err, &x) }},
		{"forged token", &ssm.DescribeInstanceInformationInput{NextToken: aws.String("x.y")}, func(err error) bool { var x *ssmtypes.InvalidNextToken; return errors.As(err, &x) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.SSM.DescribeInstanceInformation(e.Ctx, c.in)
			if err == nil || !c.ok(err) {
				t.Fatalf("got %T %v", err, err)
			}
		})
	}
}

func TestGetInventory(t *testing.T) {
	e := simtest.New(t, awssim.Options{}, awssim.DemoScenario())
	p := ssm.NewGetInventoryPaginator(e.SSM, &ssm.GetInventoryInput{MaxResults: aws.Int32(7)})
	n, pages := 0, 0
	for p.HasMorePages() {
		out, err := p.NextPage(e.Ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, en := range out.Entities {
			n++
			item := en.Data[awssim.TypeInstanceInfo]
			if *item.TypeName != awssim.TypeInstanceInfo || len(item.Content) != 1 || item.Content[0]["InstanceId"] != *en.Id || !simtest.CaptureRE.MatchString(*item.CaptureTime) {
				t.Fatalf("entity: %+v", en)
			}
		}
	}
	if n != 42 || pages != 6 {
		t.Fatalf("%d entities in %d pages", n, pages)
	}
	out, err := e.SSM.GetInventory(e.Ctx, &ssm.GetInventoryInput{Filters: []ssmtypes.InventoryFilter{{Key: aws.String("AWS:InstanceInformation.InstanceStatus"), Values: []string{"ConnectionLost"}, Type: ssmtypes.InventoryQueryOperatorTypeEqual}}})
	if err != nil || len(out.Entities) != 1 {
		t.Fatalf("status filter: %v", err)
	}
	out, err = e.SSM.GetInventory(e.Ctx, &ssm.GetInventoryInput{Filters: []ssmtypes.InventoryFilter{{Key: aws.String("AWS:Application.Name"), Values: []string{"nmap-ncat"}, Type: ssmtypes.InventoryQueryOperatorTypeEqual}}})
	if err != nil || len(out.Entities) != 1 || *out.Entities[0].Id != e.Sim.GroupMembers("web")[0] {
		t.Fatalf("application filter: %v", err)
	}
	_, err = e.SSM.GetInventory(e.Ctx, &ssm.GetInventoryInput{ResultAttributes: []ssmtypes.ResultAttribute{{TypeName: aws.String(awssim.TypeApplication)}}})
	var ra *ssmtypes.InvalidResultAttributeException
	if !errors.As(err, &ra) || ra.ErrorMessage() != "Result type name AWS:Application is not supported. Supported type names are: AWS:InstanceInformation, AWS:PatchSummary. Default result type name is AWS:InstanceInformation." {
		t.Fatalf("ResultAttributes AWS:Application: %T %v", err, err)
	}
	_, err = e.SSM.GetInventory(e.Ctx, &ssm.GetInventoryInput{MaxResults: aws.Int32(51)})
	if simtest.APICode(err) != "ValidationException" {
		t.Fatalf("MaxResults 51: %v", err)
	}
}

func TestPutInventoryAndParameters(t *testing.T) {
	e := simtest.New(t, awssim.Options{}, awssim.DemoScenario())
	id := e.Sim.GroupMembers("web")[2]
	put := func(hash string, content []map[string]string) {
		t.Helper()
		_, err := e.SSM.PutInventory(e.Ctx, &ssm.PutInventoryInput{InstanceId: aws.String(id), Items: []ssmtypes.InventoryItem{{
			TypeName: aws.String("Custom:AppConfig"), SchemaVersion: aws.String("1.0"), CaptureTime: aws.String("2026-11-20T11:00:00Z"),
			ContentHash: aws.String(hash), Content: content}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	put("h1", []map[string]string{{"Name": "feature-x", "Value": "on"}})
	put("h1", []map[string]string{{"Name": "feature-x", "Value": "CHANGED-BUT-SAME-HASH"}})
	out, err := e.SSM.ListInventoryEntries(e.Ctx, &ssm.ListInventoryEntriesInput{InstanceId: aws.String(id), TypeName: aws.String("Custom:AppConfig")})
	if err != nil || len(out.Entries) != 1 || out.Entries[0]["Value"] != "on" || *out.CaptureTime != "2026-11-20T11:00:00Z" {
		t.Fatalf("PutInventory/ContentHash: %v %+v", err, out)
	}
	put("h2", []map[string]string{{"Name": "feature-x", "Value": "off"}})
	out, _ = e.SSM.ListInventoryEntries(e.Ctx, &ssm.ListInventoryEntriesInput{InstanceId: aws.String(id), TypeName: aws.String("Custom:AppConfig")})
	if out.Entries[0]["Value"] != "off" {
		t.Fatalf("new hash not applied: %v", out.Entries)
	}
	_, err = e.SSM.PutInventory(e.Ctx, &ssm.PutInventoryInput{InstanceId: aws.String(id), Items: []ssmtypes.InventoryItem{{
		TypeName: aws.String("Custom:X"), SchemaVersion: aws.String("1.0"), CaptureTime: aws.String("2026-11-20 11:00")}}})
	if simtest.APICode(err) != "ValidationException" {
		t.Fatalf("bad CaptureTime: %v", err)
	}
	// Parameter Store
	g, err := e.SSM.GetParameter(e.Ctx, &ssm.GetParameterInput{Name: aws.String("/driftd/kill-switch")})
	if err != nil || *g.Parameter.Value != "off" || g.Parameter.Version != 1 || g.Parameter.LastModifiedDate == nil {
		t.Fatalf("GetParameter: %v", err)
	}
	pv, err := e.SSM.PutParameter(e.Ctx, &ssm.PutParameterInput{Name: aws.String("/driftd/kill-switch"), Value: aws.String("on"), Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true)})
	if err != nil || pv.Version != 2 {
		t.Fatalf("PutParameter: %v", err)
	}
	for _, c := range e.Sim.Calls() {
		if c.Operation == "PutParameter" && strings.Contains(c.Params, `"on"`) {
			t.Fatalf("parameter value in the call log: %s", c.Params)
		}
	}
	_, err = e.SSM.PutParameter(e.Ctx, &ssm.PutParameterInput{Name: aws.String("/driftd/kill-switch"), Value: aws.String("x")})
	var exists *ssmtypes.ParameterAlreadyExists
	if !errors.As(err, &exists) {
		t.Fatalf("no overwrite: %T %v", err, err)
	}
	_, err = e.SSM.GetParameter(e.Ctx, &ssm.GetParameterInput{Name: aws.String("/nope")})
	var nf *ssmtypes.ParameterNotFound
	if !errors.As(err, &nf) {
		t.Fatalf("missing parameter: %T %v", err, err)
	}
	old, err := e.SSM.GetParameter(e.Ctx, &ssm.GetParameterInput{Name: aws.String("/driftd/kill-switch:1")})
	if err != nil || *old.Parameter.Value != "off" {
		t.Fatalf("version selector: %v", err)
	}
	gs, err := e.SSM.GetParameters(e.Ctx, &ssm.GetParametersInput{Names: []string{"/driftd/kill-switch", "/nope"}})
	if err != nil || len(gs.Parameters) != 1 || len(gs.InvalidParameters) != 1 {
		t.Fatalf("GetParameters: %v", err)
	}
	// baselines are published under /driftd/baselines; page through them 1 at a time
	bp := ssm.NewGetParametersByPathPaginator(e.SSM, &ssm.GetParametersByPathInput{Path: aws.String("/driftd/baselines"), Recursive: aws.Bool(true), MaxResults: aws.Int32(1)})
	var names []string
	for bp.HasMorePages() {
		out, err := bp.NextPage(e.Ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range out.Parameters {
			names = append(names, *p.Name)
		}
	}
	if len(names) != 6 || names[0] != "/driftd/baselines/ami-0a1b2c3d4e5f60001" {
		t.Fatalf("baselines: %v", names)
	}
	top, err := e.SSM.GetParametersByPath(e.Ctx, &ssm.GetParametersByPathInput{Path: aws.String("/driftd")})
	if err != nil || len(top.Parameters) != 1 {
		t.Fatalf("non-recursive: %v %d", err, len(top.Parameters))
	}
	_, err = e.SSM.GetParametersByPath(e.Ctx, &ssm.GetParametersByPathInput{Path: aws.String("/driftd"), MaxResults: aws.Int32(11)})
	if simtest.APICode(err) != "ValidationException" {
		t.Fatalf("MaxResults 11: %v", err)
	}
	_ = time.Second
}
