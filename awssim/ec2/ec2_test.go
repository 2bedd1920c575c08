package ec2_test

import (
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

func TestDescribeInstancesPaginator(t *testing.T) {
	e := simtest.New(t, awssim.Options{}, awssim.GenerateFleet(237, 5, 3, 1))
	p := ec2.NewDescribeInstancesPaginator(e.EC2, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(50)})
	seen := map[string]bool{}
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(e.Ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range out.Reservations {
			for _, in := range r.Instances {
				if seen[*in.InstanceId] {
					t.Fatalf("instance %s returned twice", *in.InstanceId)
				}
				seen[*in.InstanceId] = true
				if in.State.Name != ec2types.InstanceStateNameRunning || *in.State.Code != 16 {
					t.Fatalf("state = %v", in.State)
				}
				if in.LaunchTime == nil || in.ImageId == nil || *in.PrivateIpAddress == "" {
					t.Fatalf("missing fields: %+v", in)
				}
			}
		}
	}
	if len(seen) != 237 || pages != 5 {
		t.Fatalf("got %d instances in %d pages, want 237 in 5", len(seen), pages)
	}
	if n := e.Sim.CallCount("ec2", "DescribeInstances"); n != 5 {
		for _, c := range e.Sim.Calls() {
			t.Logf("%+v", c)
		}
		t.Fatalf("call log counted %d DescribeInstances, want 5", n)
	}
}

func TestDescribeInstancesFilters(t *testing.T) {
	e := simtest.New(t, awssim.Options{}, awssim.DemoScenario())
	count := func(in *ec2.DescribeInstancesInput) int {
		t.Helper()
		out, err := e.EC2.DescribeInstances(e.Ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range out.Reservations {
			n += len(r.Instances)
		}
		return n
	}
	f := func(name string, vals ...string) ec2types.Filter {
		return ec2types.Filter{Name: aws.String(name), Values: vals}
	}
	cases := []struct {
		name    string
		filters []ec2types.Filter
		want    int
	}{
		{"all", nil, 42},
		{"asg tag", []ec2types.Filter{f("tag:aws:autoscaling:groupName", "web")}, 12},
		{"two groups", []ec2types.Filter{f("tag:aws:autoscaling:groupName", "web", "api")}, 22},
		{"wildcard", []ec2types.Filter{f("tag:aws:autoscaling:groupName", "w*")}, 18},
		{"tag-key", []ec2types.Filter{f("tag-key", "Name")}, 3},
		{"state", []ec2types.Filter{f("instance-state-name", "running")}, 42},
		{"state none", []ec2types.Filter{f("instance-state-name", "stopped")}, 0},
		{"image", []ec2types.Filter{f("image-id", "ami-0a1b2c3d4e5f60002")}, 11},
		{"and", []ec2types.Filter{f("image-id", "ami-0a1b2c3d4e5f60001"), f("tag:team", "data")}, 6},
		{"arm64 images", []ec2types.Filter{f("image-id", "ami-0a1b2c3d4e5f60004", "ami-0a1b2c3d4e5f60005")}, 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := count(&ec2.DescribeInstancesInput{Filters: c.filters}); got != c.want {
				t.Fatalf("got %d, want %d", got, c.want)
			}
		})
	}
}

func TestDescribeInstancesErrors(t *testing.T) {
	e := simtest.New(t, awssim.Options{}, awssim.DemoScenario())
	ids := e.Sim.GroupMembers("web")
	many := make([]string, 201)
	for i := range many {
		many[i] = "v"
	}
	cases := []struct {
		name string
		in   *ec2.DescribeInstancesInput
		code string
	}{
		{"not found", &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}}, "InvalidInstanceID.NotFound"},
		{"malformed", &ec2.DescribeInstancesInput{InstanceIds: []string{"i-xyz"}}, "InvalidInstanceID.Malformed"},
		{"ids with max", &ec2.DescribeInstancesInput{InstanceIds: ids[:1], MaxResults: aws.Int32(5)}, "InvalidParameterCombination"},
		{"max low", &ec2.DescribeInstancesInput{MaxResults: aws.Int32(4)}, "InvalidParameterValue"},
		{"max high", &ec2.DescribeInstancesInput{MaxResults: aws.Int32(1001)}, "InvalidParameterValue"},
		{"forged token", &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5), NextToken: aws.String("eyJvZmYiOjV9")}, "InvalidParameterValue"},
		{"filter limit", &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("tag:x"), Values: many}}}, "FilterLimitExceeded"},
		{"bad filter", &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("bogus"), Values: []string{"x"}}}}, "InvalidParameterValue"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.EC2.DescribeInstances(e.Ctx, c.in)
			if got := simtest.APICode(err); got != c.code {
				t.Fatalf("error code = %q (%v), want %q", got, err, c.code)
			}
		})
	}
	// a token minted for one filter set is not valid for another
	out, err := e.EC2.DescribeInstances(e.Ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	if err != nil || out.NextToken == nil {
		t.Fatalf("first page: %v", err)
	}
	_, err = e.EC2.DescribeInstances(e.Ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5), NextToken: out.NextToken,
		Filters: []ec2types.Filter{{Name: aws.String("tag:team"), Values: []string{"data"}}}})
	if simtest.APICode(err) != "InvalidParameterValue" {
		t.Fatalf("token replayed with other filters: %v", err)
	}
	// by id works and returns exactly those
	out, err = e.EC2.DescribeInstances(e.Ctx, &ec2.DescribeInstancesInput{InstanceIds: ids[:3]})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			got = append(got, *in.InstanceId)
		}
	}
	want := append([]string(nil), ids[:3]...)
	sort.Strings(got)
	sort.Strings(want)
	if len(got) != 3 || got[0] != want[0] || got[2] != want[2] {
		t.Fatalf("by id: got %v want %v", got, want)
	}
}
