package collectors

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
)

// How SSM agent status is read (Discovery.AgentLookup).
const (
	// AgentLookupAuto chooses per scan (chooseAgentLookup).
	AgentLookupAuto = ""
	// AgentLookupList lists the region's managed EC2 nodes
	// (DescribeInstanceInformation filtered on ResourceType=EC2Instance, 50
	// a page) and joins them with the discovered instances locally. It can
	// never fail because of one instance; it costs ceil(managed nodes / 50)
	// calls whatever the selection.
	AgentLookupList = "list"
	// AgentLookupIDs asks for the selected instances by id, 50 a call.
	// DescribeInstanceInformation fails the whole call with InvalidInstanceId
	// when one id is not a node it can describe (never registered, pending,
	// shutting-down, terminated, another account's); the ids the message
	// names are dropped and the rest asked again, and when the message names
	// none of the batch the batch is halved until the bad ids are isolated.
	AgentLookupIDs = "ids"
)

// AgentPageSize is DescribeInstanceInformation's maximum page size, and the
// id batch size.
const AgentPageSize = 50

// Reasons for an instance without agent status.
const (
	reasonNotListed = "instance is not registered with SSM (DescribeInstanceInformation does not list it)"
	reasonInvalidID = "instance is not registered with SSM or not in a valid state (DescribeInstanceInformation: InvalidInstanceId)"
)

// chooseAgentLookup picks the cheaper way to read agent status. running is
// the number of running instances DescribeInstances returned before the
// selection, selected the number selected. Without EC2 tag filters, running
// bounds the region's managed EC2 nodes from above, so listing them costs at
// most ceil(running/50) calls; asking by id costs ceil(selected/50) calls
// plus one per batch holding an invalid id. Listing is chosen when it cannot
// cost more than the id batches at their best: the scan covers (nearly) the
// whole region. With tag filters or named instances the region's node count
// is unknown (untagged managed nodes would be listed too), so ids are asked.
func chooseAgentLookup(sel Selection, running, selected int) string {
	if len(sel.Tags) > 0 || len(sel.InstanceIDs) > 0 || selected == 0 {
		return AgentLookupIDs
	}
	if pages(running, AgentPageSize) <= pages(selected, AgentPageSize) {
		return AgentLookupList
	}
	return AgentLookupIDs
}

func pages(n, size int) int { return (n + size - 1) / size }

// AgentResult is the outcome of reading agent status.
type AgentResult struct {
	Lookup string            // AgentLookupList or AgentLookupIDs
	Agents map[string]*Agent // instance → status
	// Missing holds instances SSM gave no status for, with the reason (not
	// listed, named by InvalidInstanceId).
	Missing map[string]string
	// Failed holds instances whose status could not be read (a call failed
	// for a reason other than the instance), with the error.
	Failed map[string]string
	// Err is the first call failure (for the collector's error metric), nil
	// when every call succeeded or failed only because of invalid ids.
	Err error
}

func (r *AgentResult) fail(ids []string, err error) {
	if r.Err == nil {
		r.Err = err
	}
	for _, id := range ids {
		r.Failed[id] = err.Error()
	}
}

func (r *AgentResult) add(ii ssmtypes.InstanceInformation) {
	r.Agents[aws.ToString(ii.InstanceId)] = &Agent{
		PingStatus:   string(ii.PingStatus),
		LastPing:     aws.ToTime(ii.LastPingDateTime),
		AgentVersion: aws.ToString(ii.AgentVersion),
		PlatformType: string(ii.PlatformType),
		PlatformName: aws.ToString(ii.PlatformName),
	}
}

// describeAgents reads the agent status of instances. Every instance ends
// in exactly one of Agents, Missing, Failed or none (a successful answer
// that did not include it).
func (d *Discovery) describeAgents(ctx context.Context, instances []Instance, lookup string) *AgentResult {
	r := &AgentResult{Lookup: lookup, Agents: map[string]*Agent{}, Missing: map[string]string{}, Failed: map[string]string{}}
	ids := make([]string, 0, len(instances))
	for _, in := range instances {
		ids = append(ids, in.ID)
	}
	sort.Strings(ids)
	if len(ids) == 0 {
		return r
	}
	if lookup == AgentLookupList {
		d.agentsByListing(ctx, ids, r)
	} else {
		r.Lookup = AgentLookupIDs
		d.agentsByID(ctx, ids, r)
	}
	return r
}

// agentsByListing lists the managed EC2 nodes and keeps the wanted ones. A
// page that fails (after the SDK's retries) does not blind the instances
// not seen yet: they are asked by id.
func (d *Discovery) agentsByListing(ctx context.Context, ids []string, r *AgentResult) {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	p := ssm.NewDescribeInstanceInformationPaginator(d.SSM, &ssm.DescribeInstanceInformationInput{
		Filters:    []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("ResourceType"), Values: []string{"EC2Instance"}}},
		MaxResults: aws.Int32(AgentPageSize),
	})
	limit := 2*pages(len(ids), AgentPageSize) + 1000
	for n := 0; p.HasMorePages(); n++ {
		var err error
		if n > limit {
			err = &InconsistentError{fmt.Sprintf("DescribeInstanceInformation: listing did not end after %d pages", limit)}
		}
		var page *ssm.DescribeInstanceInformationOutput
		if err == nil {
			page, err = p.NextPage(ctx)
		}
		if err != nil {
			if r.Err == nil {
				r.Err = err
			}
			var rest []string
			for _, id := range ids {
				if r.Agents[id] == nil {
					rest = append(rest, id)
				}
			}
			d.agentsByID(ctx, rest, r)
			return
		}
		for _, ii := range page.InstanceInformationList {
			if want[aws.ToString(ii.InstanceId)] {
				r.add(ii)
			}
		}
	}
	for _, id := range ids {
		if r.Agents[id] == nil {
			r.Missing[id] = reasonNotListed
		}
	}
}

// agentsByID asks for ids in batches of AgentPageSize.
func (d *Discovery) agentsByID(ctx context.Context, ids []string, r *AgentResult) {
	for start := 0; start < len(ids); start += AgentPageSize {
		d.agentBatch(ctx, ids[start:min(start+AgentPageSize, len(ids))], r)
	}
}

// agentBatch asks for one batch, isolating the ids DescribeInstanceInformation
// rejects: those its message names are dropped and the rest asked again;
// when it names none of the batch, the batch is halved. A failure for another
// reason (throttled after retries, 5xx) leaves that batch's instances
// without status and the other batches unaffected.
func (d *Discovery) agentBatch(ctx context.Context, ids []string, r *AgentResult) {
	for len(ids) > 0 {
		err := d.describeIDs(ctx, ids, r)
		if err == nil {
			return
		}
		if ErrorCode(err) != "InvalidInstanceId" {
			r.fail(ids, err)
			return
		}
		if len(ids) == 1 {
			r.Missing[ids[0]] = reasonInvalidID
			return
		}
		named := namedIDs(err, ids)
		if len(named) == 0 {
			h := len(ids) / 2
			d.agentBatch(ctx, ids[:h], r)
			d.agentBatch(ctx, ids[h:], r)
			return
		}
		rest := ids[:0:0]
		for _, id := range ids {
			if named[id] {
				r.Missing[id] = reasonInvalidID
			} else {
				rest = append(rest, id)
			}
		}
		ids = rest
	}
}

// describeIDs reads the status of ids (at most AgentPageSize: one page).
func (d *Discovery) describeIDs(ctx context.Context, ids []string, r *AgentResult) error {
	p := ssm.NewDescribeInstanceInformationPaginator(d.SSM, &ssm.DescribeInstanceInformationInput{
		Filters:    []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: ids}},
		MaxResults: aws.Int32(AgentPageSize),
	})
	for n := 0; p.HasMorePages(); n++ {
		if n > len(ids) {
			return &InconsistentError{"DescribeInstanceInformation: paging did not end"}
		}
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, ii := range page.InstanceInformationList {
			r.add(ii)
		}
	}
	return nil
}

var instanceIDRE = regexp.MustCompile(`\bm?i-[0-9a-f]{8,17}\b`)

// namedIDs returns the ids of batch that an InvalidInstanceId message names
// ("Instances [[i-1, i-2]] not in a valid state for account N"); ids that
// are not in the batch are ignored.
func namedIDs(err error, batch []string) map[string]bool {
	in := make(map[string]bool, len(batch))
	for _, id := range batch {
		in[id] = true
	}
	msg := err.Error()
	var ae smithy.APIError
	if errors.As(err, &ae) {
		msg = ae.ErrorMessage()
	}
	out := map[string]bool{}
	for _, id := range instanceIDRE.FindAllString(msg, -1) {
		if in[id] {
			out[id] = true
		}
	}
	return out
}
