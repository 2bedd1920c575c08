package collectors

import (
	"context"
	"maps"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/driftd/driftd/awssim"
)

// TestDiscoveryKeepsControllerTags: discovery keeps an instance's driftd:*
// tags and the tags of the controllers that own it (an EKS managed node
// group's, propagated from its Auto Scaling group; Karpenter's on a node it
// launched), and no other tag.
func TestDiscoveryKeepsControllerTags(t *testing.T) {
	sim := awssim.New(awssim.Options{LaunchDelay: -1, InventoryDelay: -1, InventoryInterval: -1})
	err := sim.LoadScenario(&awssim.Scenario{
		AMIs:            []awssim.AMISpec{{Name: "eks-node-2026-06", Packages: []awssim.PackageSpec{{Name: "kubelet", Version: "1.31.0", Release: "1.amzn2023"}}}},
		LaunchTemplates: []awssim.LaunchTemplateIn{{Name: "nodes", Versions: []string{"eks-node-2026-06"}}},
		Groups: []awssim.ScenarioGroup{{GroupSpec: awssim.GroupSpec{Name: "eks-ng-1", LaunchTemplateName: "nodes", Min: 1, Max: 1, Desired: 1,
			TagMap: map[string]string{"eks:nodegroup-name": "ng-1", "eks:cluster-name": "prod", "team": "platform", "driftd:status": "drifted"}}}},
		Instances: []awssim.InstanceSpec{{Name: "karpenter-node", AMI: "eks-node-2026-06",
			Tags: map[string]string{"karpenter.sh/nodepool": "default", "karpenter.sh/nodeclaim": "default-x7k2p", "karpenter.k8s.aws/ec2nodeclass": "default", "Owner": "ops"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		BaseEndpoint: aws.String(srv.URL), HTTPClient: awssim.NewHTTPClient()}
	d := &Discovery{EC2: ec2.NewFromConfig(cfg), AutoScaling: autoscaling.NewFromConfig(cfg), SSM: ssm.NewFromConfig(cfg)}
	f, err := d.Discover(context.Background(), Selection{IncludeStandalone: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Instances) != 2 {
		t.Fatalf("%d instances, want 2: %+v", len(f.Instances), f.Instances)
	}
	for _, in := range f.Instances {
		want := map[string]string{"karpenter.sh/nodepool": "default", "karpenter.sh/nodeclaim": "default-x7k2p"}
		if in.ASG == "eks-ng-1" {
			want = map[string]string{"eks:nodegroup-name": "ng-1", "eks:cluster-name": "prod", "driftd:status": "drifted"}
		}
		if !maps.Equal(in.Tags, want) {
			t.Errorf("%s (group %q): tags %v, want %v", in.ID, in.ASG, in.Tags, want)
		}
	}
}
