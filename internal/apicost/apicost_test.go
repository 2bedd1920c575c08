package apicost

import (
	"reflect"
	"testing"
)

func TestPages(t *testing.T) {
	for _, tc := range []struct{ n, size, want int }{{0, 50, 1}, {1, 50, 1}, {50, 50, 1}, {51, 50, 2}, {1000, 50, 20}, {1001, 1000, 2}, {-3, 10, 1}} {
		if got := Pages(tc.n, tc.size); got != tc.want {
			t.Errorf("Pages(%d, %d) = %d, want %d", tc.n, tc.size, got, tc.want)
		}
	}
}

func TestLowerBound(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    Facts
		want map[string]int
	}{
		{"empty fleet", Facts{Mode: ModeSSMAPI},
			map[string]int{OpDescribeInstances: 1, OpDescribeGroups: 1}},
		{"api cold 1000x1000, 3 types", Facts{Mode: ModeSSMAPI, Instances: 1000, Groups: 4, LaunchTemplates: 4, AMIs: 4, Managed: 1000,
			ChangedTypeEntries: repeat(1000, 1000, 2, 2)},
			map[string]int{OpDescribeInstances: 1, OpDescribeGroups: 1, OpDescribeLTVersions: 4, OpDescribeImages: 1,
				OpDescribeInstanceInfo: 20, OpListInventoryEntries: 1000 * (20 + 1 + 1)}},
		{"api warm 1% changed", Facts{Mode: ModeSSMAPI, Instances: 2000, Groups: 4, LaunchTemplates: 4, AMIs: 4, Managed: 2000,
			UnchangedTypeReads: 1980 * 3, ChangedTypeEntries: repeat(20, 1001, 2, 2)},
			map[string]int{OpDescribeInstances: 2, OpDescribeGroups: 1, OpDescribeLTVersions: 4, OpDescribeImages: 1,
				OpDescribeInstanceInfo: 40, OpListInventoryEntries: 1980*3 + 20*(21+1+1)}},
		{"s3 cold 10k", Facts{Mode: ModeResourceDataSync, Instances: 10000, Groups: 4, LaunchTemplates: 4, AMIs: 4, Managed: 10000,
			KeysPerType: []int{10000, 10000, 10000}, ChangedObjects: 30000},
			map[string]int{OpDescribeInstances: 10, OpDescribeGroups: 1, OpDescribeLTVersions: 4, OpDescribeImages: 1,
				OpDescribeInstanceInfo: 200, OpListObjectsV2: 30, OpGetObject: 30000}},
		{"s3 warm nothing changed, empty type", Facts{Mode: ModeResourceDataSync, Instances: 10, Groups: 101, Managed: 10, AMIs: 101,
			KeysPerType: []int{10, 0}},
			map[string]int{OpDescribeInstances: 1, OpDescribeGroups: 2, OpDescribeImages: 2, OpDescribeInstanceInfo: 1, OpListObjectsV2: 2}},
		{"agent status: only registered instances count", Facts{Mode: ModeSSMAPI, Instances: 10000, Groups: 20, Managed: 9800, UnchangedTypeReads: 9800},
			map[string]int{OpDescribeInstances: 10, OpDescribeGroups: 1, OpDescribeInstanceInfo: 196, OpListInventoryEntries: 9800}},
		{"agent status: none registered still costs one call", Facts{Mode: ModeSSMAPI, Instances: 3, Groups: 1, Managed: 0},
			map[string]int{OpDescribeInstances: 1, OpDescribeGroups: 1, OpDescribeInstanceInfo: 1}},
		{"s3 restricted", Facts{Mode: ModeResourceDataSync, Restricted: true, Instances: 1, Groups: 3, LaunchTemplates: 3, AMIs: 1, Managed: 1,
			KeysPerType: []int{5000}, DirectObjects: 3},
			map[string]int{OpDescribeInstances: 1, OpDescribeGroups: 1, OpDescribeLTVersions: 3, OpDescribeImages: 1, OpDescribeInstanceInfo: 1, OpGetObject: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := LowerBound(tc.f); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v\nwant %v", got, tc.want)
			}
		})
	}
}

// repeat returns n copies of the per-instance entry counts.
func repeat(n int, counts ...int) []int {
	var out []int
	for range n {
		out = append(out, counts...)
	}
	return out
}
