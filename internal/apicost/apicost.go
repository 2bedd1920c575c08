// Package apicost computes the lower bound of AWS API calls a scan needs,
// from facts about the fleet: the cheapest any collector could do with the
// APIs' page sizes, given what changed since the previous scan. It is pure
// (no I/O, no clock) so the model can be table-tested and compared with the
// calls a scan really made.
package apicost

// Page sizes of the APIs (their documented maxima).
const (
	DescribeInstancesPage    = 1000 // EC2 DescribeInstances MaxResults
	DescribeGroupsPage       = 100  // DescribeAutoScalingGroups MaxRecords
	DescribeImagesBatch      = 100  // image ids per DescribeImages call (driftd's batch)
	InstanceInformationPage  = 50   // DescribeInstanceInformation MaxResults
	InventoryEntriesPage     = 50   // ListInventoryEntries MaxResults
	ListObjectsPage          = 1000 // S3 ListObjectsV2 MaxKeys
	ModeSSMAPI               = "ssm_api"
	ModeResourceDataSync     = "resource_data_sync"
	OpDescribeInstances      = "ec2:DescribeInstances"
	OpDescribeImages         = "ec2:DescribeImages"
	OpDescribeLTVersions     = "ec2:DescribeLaunchTemplateVersions"
	OpDescribeGroups         = "autoscaling:DescribeAutoScalingGroups"
	OpDescribeInstanceInfo   = "ssm:DescribeInstanceInformation"
	OpListInventoryEntries   = "ssm:ListInventoryEntries"
	OpListObjectsV2          = "s3:ListObjectsV2"
	OpGetObject              = "s3:GetObject"
	restrictedDescribeMaxIDs = 1000
)

// Facts describe one scan's fleet.
type Facts struct {
	Mode string // ModeSSMAPI or ModeResourceDataSync

	// Discovery.
	Instances       int  // instances discovered (DescribeInstances results)
	Restricted      bool // the scan named instance ids (no listing; direct reads)
	Groups          int  // Auto Scaling groups in the region
	LaunchTemplates int  // distinct launch template versions resolved
	AMIs            int  // distinct AMIs of the discovered instances
	// Managed is the number of discovered instances SSM reported an agent
	// status for. Knowing which instances are registered, a collector would
	// ask for exactly these by id (ceil(Managed/50) calls, at least one to
	// learn that none is); instances SSM rejects or does not list cost
	// nothing in the bound (the retries of a batch holding one are overhead).
	Managed int

	// SSM API mode, per judged instance and type: a type whose CaptureTime
	// is the previous scan's costs its first page (which carries the
	// CaptureTime); one whose CaptureTime moved costs all its pages, content
	// changed or not (the agent reports a fresh CaptureTime at every
	// inventory run, and no API tells unchanged content from changed).
	UnchangedTypeReads int
	ChangedTypeEntries []int // entry counts of the (instance, type) pairs read in full

	// Resource Data Sync mode.
	KeysPerType    []int // keys listed under each type prefix (full scans)
	ChangedObjects int   // objects that had to be downloaded (new or ETag changed: every inventory run changes it)
	DirectObjects  int   // restricted scans: objects addressed directly (one GET each)
}

// Pages returns the pages needed to read n items with page size size (at
// least one: an empty answer is still a call).
func Pages(n, size int) int {
	if n <= 0 {
		return 1
	}
	return (n + size - 1) / size
}

// LowerBound returns the minimum calls per "service:Operation".
func LowerBound(f Facts) map[string]int {
	lb := map[string]int{}
	if f.Restricted {
		lb[OpDescribeInstances] = Pages(f.Instances, restrictedDescribeMaxIDs)
	} else {
		lb[OpDescribeInstances] = Pages(f.Instances, DescribeInstancesPage)
	}
	lb[OpDescribeGroups] = Pages(f.Groups, DescribeGroupsPage)
	if f.LaunchTemplates > 0 {
		lb[OpDescribeLTVersions] = f.LaunchTemplates
	}
	if f.AMIs > 0 {
		lb[OpDescribeImages] = Pages(f.AMIs, DescribeImagesBatch)
	}
	if f.Instances > 0 {
		lb[OpDescribeInstanceInfo] = Pages(f.Managed, InstanceInformationPage)
	}
	switch f.Mode {
	case ModeResourceDataSync:
		if f.Restricted {
			if f.DirectObjects > 0 {
				lb[OpGetObject] = f.DirectObjects
			}
			break
		}
		for _, k := range f.KeysPerType {
			lb[OpListObjectsV2] += Pages(k, ListObjectsPage)
		}
		if f.ChangedObjects > 0 {
			lb[OpGetObject] = f.ChangedObjects
		}
	default:
		n := f.UnchangedTypeReads
		for _, e := range f.ChangedTypeEntries {
			n += Pages(e, InventoryEntriesPage)
		}
		if n > 0 {
			lb[OpListInventoryEntries] = n
		}
	}
	for k, v := range lb {
		if v == 0 {
			delete(lb, k)
		}
	}
	return lb
}

// Total sums a per-operation count.
func Total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
