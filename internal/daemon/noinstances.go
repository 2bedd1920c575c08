package daemon

import (
	"fmt"
	"sort"
	"strings"
)

// noInstancesWarning explains a full scan that selected no instance: the
// usual causes are a selection that matches nothing, another region or
// endpoint than the fleet's, or standalone instances left out.
func noInstancesWarning(rt *generation) string {
	sel := rt.cfg.Selection
	region := rt.cfg.AWS.Region
	if rt.clients != nil && rt.clients.AWS.Region != "" {
		region = rt.clients.AWS.Region
	}
	var why []string
	if len(sel.Tags) > 0 {
		keys := make([]string, 0, len(sel.Tags))
		for k := range sel.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		why = append(why, "selection.tags ("+strings.Join(keys, ", ")+")")
	}
	if len(sel.ASGNames) > 0 {
		why = append(why, "selection.asg_names ("+strings.Join(sel.ASGNames, ", ")+")")
	}
	if !sel.IncludeStandalone {
		why = append(why, "selection.include_standalone: false")
	}
	msg := fmt.Sprintf("the scan found 0 running instances in region %q", region)
	if len(why) > 0 {
		msg += "; check " + strings.Join(why, ", ")
	}
	return msg + ", and the region, credentials and endpoint (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL)"
}
