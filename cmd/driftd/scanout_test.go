package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/scan"
)

var updateScanGolden = flag.Bool("update-scan", false, "rewrite cmd/driftd/testdata/scan*.golden")

// TestScanOutputGolden pins the table and JSON renderings of a scan report.
func TestScanOutputGolden(t *testing.T) {
	rep := goldenReport()
	var table, js bytes.Buffer
	writeTable(&table, rep)
	if err := writeJSON(&js, rep, slices.Values(rep.Instances)); err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]byte{"scan.table.golden": table.Bytes(), "scan.json.golden": js.Bytes()} {
		p := filepath.Join("testdata", name)
		if *updateScanGolden {
			if err := os.WriteFile(p, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%v (run go test ./cmd/driftd -run TestScanOutputGolden -update-scan)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs:\n%s\nwant:\n%s", name, got, want)
		}
	}
}

// goldenReport is the report the golden files render.
func goldenReport() ScanReport {
	return ScanReport{
		Summary: map[drift.Verdict]int{drift.VerdictInSync: 1, drift.VerdictDrifted: 1, drift.VerdictUnknown: 1, drift.VerdictStale: 0,
			drift.VerdictNoBaseline: 1, drift.VerdictExempt: 0},
		Instances: []ScanInstance{
			{InstanceID: "i-0123456789abcdef0", ASG: "web", AMI: "ami-0a1b2c3d4e5f60001", Verdict: drift.VerdictDrifted, Severity: "high",
				Reasons: []string{"package openssl-libs.x86_64 changed (upgrade)"},
				Findings: []drift.Finding{{Category: drift.CategoryPackage, Type: drift.TypeApplication, Name: "openssl-libs", Arch: "x86_64",
					Attribute: "version", Change: drift.ChangeChanged, Direction: drift.DirectionUpgrade,
					Expected: "1:3.0.8-1.amzn2023.0.12", Observed: "1:3.0.8-1.amzn2023.0.13", Severity: drift.SeverityHigh}}},
			{InstanceID: "i-0123456789abcdef1", ASG: "web", AMI: "ami-0a1b2c3d4e5f60001", Verdict: drift.VerdictInSync},
			{InstanceID: "i-0123456789abcdef2", ASG: "api", AMI: "ami-0a1b2c3d4e5f60002", Verdict: drift.VerdictUnknown,
				Reasons: []string{"agent ConnectionLost since 2026-11-25T10:00:00Z"}},
			{InstanceID: "i-0123456789abcdef3", AMI: "ami-0a1b2c3d4e5f60003", Verdict: drift.VerdictNoBaseline,
				Reasons: []string{"no baseline for ami-0a1b2c3d4e5f60003 (local: no manifest: no ami-0a1b2c3d4e5f60003.{yaml,yml,json,cdx.json,spdx.json,imagebuilder.json} in /etc/driftd/baselines)"}},
		},
		APICalls: scan.APICallStats{Total: 14, ByOperation: map[string]int{"ec2:DescribeInstances": 1, "ssm:ListInventoryEntries": 9,
			"ssm:DescribeInstanceInformation": 1, "autoscaling:DescribeAutoScalingGroups": 1, "ec2:DescribeImages": 1, "ec2:DescribeLaunchTemplateVersions": 1}},
		Duration: 1.25,
	}
}
