package awssim_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/awssim/internal/simtest"
)

// TestNextTokenOmittedOnLastPage: every paginated operation driftd calls
// answers its last page without a NextToken (never an empty one) and
// every other page with a non-empty one. Source: the API references
// ("This value is null when there are no more items to return", EC2
// DescribeInstances); an empty token would make a client ask again.
func TestNextTokenOmittedOnLastPage(t *testing.T) {
	e := simtest.New(t, awssim.Options{}, awssim.DemoScenario())
	web := e.Sim.GroupMembers("web")
	type page struct {
		token *string
		n     int
	}
	ops := []struct {
		name string
		call func(tok *string) (page, error)
	}{
		{"ec2:DescribeInstances", func(tok *string) (page, error) {
			out, err := e.EC2.DescribeInstances(e.Ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5), NextToken: tok})
			if err != nil {
				return page{}, err
			}
			n := 0
			for _, r := range out.Reservations {
				n += len(r.Instances)
			}
			return page{out.NextToken, n}, nil
		}},
		{"ec2:DescribeImages", func(tok *string) (page, error) {
			out, err := e.EC2.DescribeImages(e.Ctx, &ec2.DescribeImagesInput{MaxResults: aws.Int32(5), NextToken: tok})
			if err != nil {
				return page{}, err
			}
			return page{out.NextToken, len(out.Images)}, nil
		}},
		{"autoscaling:DescribeAutoScalingGroups", func(tok *string) (page, error) {
			out, err := e.ASG.DescribeAutoScalingGroups(e.Ctx, &autoscaling.DescribeAutoScalingGroupsInput{MaxRecords: aws.Int32(2), NextToken: tok})
			if err != nil {
				return page{}, err
			}
			return page{out.NextToken, len(out.AutoScalingGroups)}, nil
		}},
		{"autoscaling:DescribeAutoScalingInstances", func(tok *string) (page, error) {
			out, err := e.ASG.DescribeAutoScalingInstances(e.Ctx, &autoscaling.DescribeAutoScalingInstancesInput{MaxRecords: aws.Int32(7), NextToken: tok})
			if err != nil {
				return page{}, err
			}
			return page{out.NextToken, len(out.AutoScalingInstances)}, nil
		}},
		{"ssm:DescribeInstanceInformation", func(tok *string) (page, error) {
			out, err := e.SSM.DescribeInstanceInformation(e.Ctx, &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(5), NextToken: tok})
			if err != nil {
				return page{}, err
			}
			return page{out.NextToken, len(out.InstanceInformationList)}, nil
		}},
		{"ssm:DescribeInstanceInformation by ids", func(tok *string) (page, error) {
			out, err := e.SSM.DescribeInstanceInformation(e.Ctx, &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(5), NextToken: tok,
				Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: web[:7]}}})
			if err != nil {
				return page{}, err
			}
			return page{out.NextToken, len(out.InstanceInformationList)}, nil
		}},
		{"ssm:ListInventoryEntries", func(tok *string) (page, error) {
			out, err := e.SSM.ListInventoryEntries(e.Ctx, &ssm.ListInventoryEntriesInput{InstanceId: aws.String(web[3]), TypeName: aws.String(awssim.TypeApplication), NextToken: tok})
			if err != nil {
				return page{}, err
			}
			return page{out.NextToken, len(out.Entries)}, nil
		}},
		{"ssm:GetInventory", func(tok *string) (page, error) {
			out, err := e.SSM.GetInventory(e.Ctx, &ssm.GetInventoryInput{MaxResults: aws.Int32(7), NextToken: tok})
			if err != nil {
				return page{}, err
			}
			return page{out.NextToken, len(out.Entities)}, nil
		}},
		{"ssm:GetParametersByPath", func(tok *string) (page, error) {
			out, err := e.SSM.GetParametersByPath(e.Ctx, &ssm.GetParametersByPathInput{Path: aws.String("/driftd/baselines"), MaxResults: aws.Int32(2), NextToken: tok})
			if err != nil {
				return page{}, err
			}
			return page{out.NextToken, len(out.Parameters)}, nil
		}},
	}
	want := map[string]int{"ec2:DescribeInstances": 42, "ec2:DescribeImages": 7, "autoscaling:DescribeAutoScalingGroups": 6,
		"autoscaling:DescribeAutoScalingInstances": 39, "ssm:DescribeInstanceInformation": 42, "ssm:DescribeInstanceInformation by ids": 7,
		"ssm:ListInventoryEntries": 420, "ssm:GetInventory": 42, "ssm:GetParametersByPath": 6}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			var tok *string
			total, pages := 0, 0
			for {
				p, err := op.call(tok)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				total += p.n
				if p.token == nil {
					break
				}
				if *p.token == "" {
					t.Fatalf("page %d: empty NextToken", pages)
				}
				if p.n == 0 {
					t.Fatalf("page %d: empty page with a NextToken", pages)
				}
				if pages > 200 {
					t.Fatal("paging does not end")
				}
				tok = p.token
			}
			if pages < 2 || total != want[op.name] {
				t.Fatalf("%d items in %d pages, want %d in several", total, pages, want[op.name])
			}
		})
	}
}
