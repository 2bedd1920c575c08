package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/collectors/baselines/publish"
	"github.com/driftd/driftd/internal/awsclients"
)

// demoBucket is the simulated S3 bucket the demo's golden baselines are
// published to (`driftd demo` and `driftd sim --scenario demo` alike, so
// examples/sim.yaml reads them from the same place the demo does).
const demoBucket = "driftd-demo-golden"

// demoRegion is the demo's published baselines.
type demoRegion struct {
	seed    *publish.DemoSeed
	formats map[string]string // AMI id → package format
	sbom    map[string]bool   // AMI id → its baseline is an SBOM (packages only)
}

// seedDemoRegion publishes the scenario's golden baselines where image
// pipelines keep them — S3 and SSM Parameter Store (publish.SeedDemo) —
// through real SDK clients against the simulator at endpoint.
func seedDemoRegion(ctx context.Context, sim *awssim.Sim, sc *awssim.Scenario, endpoint string) (*demoRegion, error) {
	formats, sbom, docs, err := demoBaselines(sim, sc)
	if err != nil {
		return nil, err
	}
	sim.S3().CreateBucket(demoBucket)
	seeder := awsclients.New(demoAWSConfig(endpoint))
	seed, err := publish.SeedDemo(ctx, seeder.S3, seeder.SSM, demoBucket, docs)
	if err != nil {
		return nil, fmt.Errorf("publishing demo baselines: %w", err)
	}
	return &demoRegion{seed: seed, formats: formats, sbom: sbom}, nil
}

// demoAWSConfig reaches the simulator through the SDK's standard
// BaseEndpoint setting, with static demo credentials.
func demoAWSConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIADEMO", "demo-secret", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

// demoBaselines returns each AMI's package format, whether its baseline is
// an SBOM (packages only), and its baseline document: native manifests, or
// CycloneDX SBOMs for the Debian and Ubuntu AMIs. The scenario leaves one
// AMI without a baseline on purpose.
func demoBaselines(sim *awssim.Sim, sc *awssim.Scenario) (formats map[string]string, sbom map[string]bool, docs map[string][]byte, err error) {
	formats, sbom, docs = map[string]string{}, map[string]bool{}, map[string][]byte{}
	for _, a := range sc.AMIs {
		formats[a.ID] = a.Format
		if a.ManifestParameter == "" {
			continue
		}
		_, doc, err := sim.BaselineDocument(a.ID)
		if err != nil {
			return nil, nil, nil, err
		}
		docs[a.ID] = doc
		sbom[a.ID] = a.ManifestFormat == awssim.ManifestCycloneDX
	}
	return formats, sbom, docs, nil
}
