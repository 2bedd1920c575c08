package daemon

import (
	"github.com/driftd/driftd/internal/apicost"
	"github.com/driftd/driftd/scan"
)

// discoveryFacts derives the discovery part of the cost facts from a scan.
func discoveryFacts(res *scan.Result, restricted bool) apicost.Facts {
	f := apicost.Facts{Restricted: restricted, Instances: len(res.Instances), Groups: len(res.Groups)}
	lts, amis := map[string]bool{}, map[string]bool{}
	for _, ami := range res.Groups {
		if ami != "" {
			lts[ami] = true
		}
	}
	managed := 0
	for _, ir := range res.Instances {
		if ir.Instance.AMI != "" {
			amis[ir.Instance.AMI] = true
		}
		if ir.Instance.Managed {
			managed++
		}
	}
	f.LaunchTemplates, f.AMIs, f.Managed = len(lts), len(amis), managed
	return f
}

// newCost puts the scan's calls next to the lower bound of facts f.
func newCost(res *scan.Result, f apicost.Facts, ds *scan.DataSyncStats) *scan.Cost {
	lb := apicost.LowerBound(f)
	c := &scan.Cost{Mode: f.Mode, Calls: map[string]int{}, LowerBound: lb, DataSync: ds}
	for op, n := range res.APICalls.ByOperation {
		c.Calls[op] = n
	}
	c.CallsTotal, c.LowerBoundTotal = apicost.Total(c.Calls), apicost.Total(lb)
	if c.LowerBoundTotal > 0 {
		c.Ratio = float64(c.CallsTotal) / float64(c.LowerBoundTotal)
	}
	return c
}
