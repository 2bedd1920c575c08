package awssim

import (
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/driftd/driftd/awssim/fleet"
	"github.com/driftd/driftd/awssim/wire"
)

var (
	instanceIDRE = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)
	amiIDRE      = regexp.MustCompile(`^ami-([0-9a-f]{8}|[0-9a-f]{17})$`)
	ltIDRE       = regexp.MustCompile(`^lt-([0-9a-f]{8}|[0-9a-f]{17})$`)
	ltNameRE     = regexp.MustCompile(`^[a-zA-Z0-9().\-/_]{3,128}$`)
)

type ec2Op func(req *wire.Request) ([]byte, *wire.Error)

func (s *Sim) serveEC2(w http.ResponseWriter, req *wire.Request) {
	ops := map[string]ec2Op{
		"DescribeInstances":              s.ec2DescribeInstances,
		"DescribeImages":                 s.ec2DescribeImages,
		"DescribeLaunchTemplates":        s.ec2DescribeLaunchTemplates,
		"DescribeLaunchTemplateVersions": s.ec2DescribeLaunchTemplateVersions,
		"CreateLaunchTemplate":           s.ec2CreateLaunchTemplate,
		"CreateLaunchTemplateVersion":    s.ec2CreateLaunchTemplateVersion,
		"ModifyLaunchTemplate":           s.ec2ModifyLaunchTemplate,
		"CreateTags":                     s.ec2CreateTags,
		"DeleteTags":                     s.ec2DeleteTags,
		"TerminateInstances":             s.ec2TerminateInstances,
		"RunInstances":                   s.ec2RunInstances,
	}
	op, ok := ops[req.Op]
	if !ok {
		wire.WriteError(w, req, wire.Errorf(400, "InvalidAction", "The action %s is not valid for this web service.", req.Op))
		return
	}
	if req.Form.Get("DryRun") == "true" {
		wire.WriteError(w, req, wire.Errorf(412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set."))
		return
	}
	body, err := op(req)
	if err != nil {
		wire.WriteError(w, req, err)
		return
	}
	wire.WriteEC2(w, req, body)
}

func invalidParam(format string, args ...any) *wire.Error {
	return wire.Errorf(400, "InvalidParameterValue", format, args...)
}

// ec2MaxResults validates MaxResults (lo..hi); 0 means absent.
func ec2MaxResults(req *wire.Request, lo, hi int) (int, *wire.Error) {
	v := req.Form.Get("MaxResults")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, invalidParam("Invalid value '%s' for maxResults", v)
	}
	if n < lo || n > hi {
		return 0, invalidParam("Value ( %d ) for parameter maxResults is invalid. Expecting a value between %d and %d.", n, lo, hi)
	}
	return n, nil
}

func checkFilterLimit(fs []wire.Filter) *wire.Error {
	n := 0
	for _, f := range fs {
		n += len(f.Values)
	}
	if n > 200 {
		return wire.Errorf(400, "FilterLimitExceeded", "The maximum number of filter values specified on a single call is 200")
	}
	return nil
}

func notFoundIDs(code, what string, ids []string) *wire.Error {
	if len(ids) == 1 {
		return wire.Errorf(400, code, "The %s ID '%s' does not exist", what, ids[0])
	}
	return wire.Errorf(400, code, "The %s IDs '%s' do not exist", what, strings.Join(ids, ", "))
}

func tagMatch(tags map[string]string, f wire.Filter) (bool, bool) {
	switch {
	case strings.HasPrefix(f.Name, "tag:"):
		v, ok := tags[f.Name[4:]]
		return ok && anyGlob(f.Values, v), true
	case f.Name == "tag-key":
		for k := range tags {
			if anyGlob(f.Values, k) {
				return true, true
			}
		}
		return false, true
	case f.Name == "tag-value":
		for _, v := range tags {
			if anyGlob(f.Values, v) {
				return true, true
			}
		}
		return false, true
	}
	return false, false
}

func instanceFilter(in *Instance, f wire.Filter) (bool, *wire.Error) {
	if ok, handled := tagMatch(in.Tags, f); handled {
		return ok, nil
	}
	var v string
	switch f.Name {
	case "instance-id":
		v = in.ID
	case "image-id":
		v = in.ImageID
	case "instance-state-name":
		v = in.State
	case "instance-state-code":
		v = strconv.Itoa(fleet.StateCode(in.State))
	case "instance-type":
		v = in.InstanceType
	case "availability-zone":
		v = in.AZ
	case "vpc-id":
		v = in.VPCID
	case "subnet-id":
		v = in.SubnetID
	case "private-ip-address":
		v = in.PrivateIP
	case "reservation-id":
		v = in.ReservationID
	default:
		return false, invalidParam("The filter '%s' is invalid", f.Name)
	}
	return anyGlob(f.Values, v), nil
}

// describeReq holds the parameters every EC2 Describe* call shares.
type describeReq struct {
	ids     []string
	max     int
	filters []wire.Filter
	scope   string // NextToken scope: the operation and its other parameters
	off     int    // offset the NextToken resumes at
}

// describeParams validates them: MaxResults 5–1000 and not with ids, each
// id well-formed, at most 200 filter values, a NextToken issued for this
// very query.
func (s *Sim) describeParams(req *wire.Request, idKey, idSetName string, checkID func(string) *wire.Error) (describeReq, *wire.Error) {
	d := describeReq{ids: wire.EC2List(req.Form, idKey)}
	var err *wire.Error
	if d.max, err = ec2MaxResults(req, 5, 1000); err != nil {
		return d, err
	}
	if d.max > 0 && len(d.ids) > 0 {
		return d, wire.Errorf(400, "InvalidParameterCombination", "The parameter %s cannot be used with the parameter maxResults", idSetName)
	}
	for _, id := range d.ids {
		if err := checkID(id); err != nil {
			return d, err
		}
	}
	d.filters = wire.EC2Filters(req.Form)
	if err := checkFilterLimit(d.filters); err != nil {
		return d, err
	}
	d.scope = req.Op + "|" + wire.Fingerprint(req.Form, "NextToken", "MaxResults")
	if t := req.Form.Get("NextToken"); t != "" {
		o, ok := s.tok.Check(d.scope, t)
		if !ok {
			return d, invalidParam("The parameter NextToken is invalid.")
		}
		d.off = o
	}
	return d, nil
}

func (s *Sim) ec2DescribeInstances(req *wire.Request) ([]byte, *wire.Error) {
	dp, err := s.describeParams(req, "InstanceId", "instancesSet", func(id string) *wire.Error {
		if !instanceIDRE.MatchString(id) {
			return wire.Errorf(400, "InvalidInstanceID.Malformed", "Invalid id: \"%s\"", id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ids, max, fs, scope, off := dp.ids, dp.max, dp.filters, dp.scope, dp.off
	f := s.fleet
	now := s.Now()
	f.RLock()
	defer f.RUnlock()
	var sel []*Instance
	if len(ids) > 0 {
		var missing []string
		seen := map[string]bool{}
		for _, id := range ids {
			in := f.InstanceLocked(id)
			if in == nil {
				missing = append(missing, id)
				continue
			}
			if !seen[id] {
				seen[id] = true
				sel = append(sel, in)
			}
		}
		if len(missing) > 0 {
			return nil, notFoundIDs("InvalidInstanceID.NotFound", "instance", missing)
		}
	} else {
		sel = f.InstancesLocked()
	}
	var out []*Instance
	for _, in := range sel {
		ok := true
		for _, fl := range fs {
			m, err := instanceFilter(in, fl)
			if err != nil {
				return nil, err
			}
			if !m {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, in)
		}
	}
	if off > len(out) {
		off = len(out)
	}
	page := out[off:]
	next := ""
	if max > 0 && len(page) > max {
		page = page[:max]
		next = s.tok.Mint(scope, off+max)
	}
	var b wire.XML
	b.Grow(len(page) * 1500)
	b.Open("reservationSet")
	for i := 0; i < len(page); {
		j := i + 1
		for j < len(page) && page[j].ReservationID == page[i].ReservationID {
			j++
		}
		b.Open("item")
		b.El("reservationId", page[i].ReservationID)
		b.El("ownerId", s.opts.AccountID)
		b.WriteString("<groupSet/>")
		b.Open("instancesSet")
		for _, in := range page[i:j] {
			s.renderInstance(&b, in, now)
		}
		b.Close("instancesSet")
		b.Close("item")
		i = j
	}
	b.Close("reservationSet")
	b.Opt("nextToken", next)
	return b.Bytes(), nil
}

func (s *Sim) renderInstance(b *wire.XML, in *Instance, now time.Time) {
	b.Open("item")
	b.El("instanceId", in.ID)
	b.El("imageId", in.ImageID)
	b.WriteString("<instanceState><code>")
	b.WriteString(strconv.Itoa(fleet.StateCode(in.State)))
	b.WriteString("</code><name>")
	b.WriteString(in.State)
	b.WriteString("</name></instanceState>")
	dns := ""
	if in.State != StateTerminated {
		dns = in.ComputerName
	}
	b.El("privateDnsName", dns)
	b.WriteString("<dnsName/>")
	if in.State == StateTerminated || in.State == StateShuttingDown {
		b.El("reason", "User initiated ("+in.LaunchTime.UTC().Format("2006-01-02 15:04:05 MST")+")")
	}
	b.Int("amiLaunchIndex", 0)
	b.WriteString("<productCodes/>")
	b.El("instanceType", in.InstanceType)
	b.Time("launchTime", in.LaunchTime)
	b.WriteString("<placement><availabilityZone>")
	b.WriteString(in.AZ)
	b.WriteString("</availabilityZone><groupName/><tenancy>default</tenancy></placement>")
	platformDetails := "Linux/UNIX"
	if in.AMI() != nil && in.AMI().Platform == "windows" {
		b.El("platform", "windows")
		platformDetails = "Windows"
	}
	b.WriteString("<monitoring><state>disabled</state></monitoring>")
	if in.State != StateTerminated {
		b.El("subnetId", in.SubnetID)
		b.El("vpcId", in.VPCID)
		b.El("privateIpAddress", in.PrivateIP)
	}
	b.WriteString("<sourceDestCheck>true</sourceDestCheck><groupSet/>")
	if in.State == StateTerminated || in.State == StateShuttingDown {
		b.WriteString("<stateReason><code>Client.UserInitiatedShutdown</code><message>Client.UserInitiatedShutdown: User initiated shutdown</message></stateReason>")
	}
	arch := "x86_64"
	if in.AMI() != nil && in.AMI().Architecture != "" {
		arch = in.AMI().Architecture
	}
	b.El("architecture", arch)
	b.WriteString("<rootDeviceType>ebs</rootDeviceType><rootDeviceName>/dev/xvda</rootDeviceName><blockDeviceMapping/>")
	b.WriteString("<virtualizationType>hvm</virtualizationType><clientToken/>")
	if len(in.Tags) > 0 {
		b.Open("tagSet")
		keys := make([]string, 0, len(in.Tags))
		for k := range in.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			b.WriteString("<item>")
			b.El("key", k)
			b.El("value", in.Tags[k])
			b.WriteString("</item>")
		}
		b.Close("tagSet")
	}
	b.WriteString("<hypervisor>xen</hypervisor><ebsOptimized>false</ebsOptimized><enaSupport>true</enaSupport>")
	b.El("platformDetails", platformDetails)
	b.WriteString("<usageOperation>RunInstances</usageOperation>")
	b.Time("usageOperationUpdateTime", in.LaunchTime)
	b.WriteString("<metadataOptions><state>applied</state><httpTokens>required</httpTokens><httpPutResponseHopLimit>2</httpPutResponseHopLimit><httpEndpoint>enabled</httpEndpoint></metadataOptions>")
	b.WriteString("<bootMode>uefi-preferred</bootMode>")
	b.Close("item")
}

func imageFilter(a *AMI, f wire.Filter) (bool, *wire.Error) {
	if ok, handled := tagMatch(a.Tags, f); handled {
		return ok, nil
	}
	var v string
	switch f.Name {
	case "image-id":
		v = a.ID
	case "name":
		v = a.Name
	case "state":
		v = "available"
	case "owner-id":
		v = a.OwnerID
	case "architecture":
		v = a.Architecture
	case "platform":
		v = a.Platform
	case "image-type":
		v = "machine"
	case "is-public":
		v = "false"
	default:
		return false, invalidParam("The filter '%s' is invalid", f.Name)
	}
	return anyGlob(f.Values, v), nil
}

func (s *Sim) ec2DescribeImages(req *wire.Request) ([]byte, *wire.Error) {
	owners := wire.EC2List(req.Form, "Owner")
	dp, err := s.describeParams(req, "ImageId", "ImageIds", func(id string) *wire.Error {
		if !amiIDRE.MatchString(id) {
			return wire.Errorf(400, "InvalidAMIID.Malformed", "Invalid id: \"%s\" (expecting \"ami-...\")", id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ids, max, fs, scope, off := dp.ids, dp.max, dp.filters, dp.scope, dp.off
	f := s.fleet
	f.RLock()
	defer f.RUnlock()
	var sel []*AMI
	if len(ids) > 0 {
		var missing []string
		for _, id := range ids {
			if a := f.AMILocked(id); a != nil {
				sel = append(sel, a)
			} else {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return nil, wire.Errorf(400, "InvalidAMIID.NotFound", "The image id '[%s]' does not exist", strings.Join(missing, ", "))
		}
	} else {
		sel = f.AMIsLocked()
	}
	var out []*AMI
	for _, a := range sel {
		if len(owners) > 0 {
			ok := false
			for _, o := range owners {
				if o == "self" || o == a.OwnerID || (o == "amazon" && a.OwnerID == "137112412989") {
					ok = true
				}
			}
			if !ok {
				continue
			}
		}
		ok := true
		for _, fl := range fs {
			m, err := imageFilter(a, fl)
			if err != nil {
				return nil, err
			}
			if !m {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, a)
		}
	}
	off = min(off, len(out))
	page, next := out[off:], ""
	if max > 0 && len(page) > max {
		page, next = page[:max], s.tok.Mint(scope, off+max)
	}
	var b wire.XML
	b.Open("imagesSet")
	for _, a := range page {
		b.Open("item")
		b.El("imageId", a.ID)
		b.El("imageLocation", a.OwnerID+"/"+a.Name)
		b.El("imageState", "available")
		b.El("imageOwnerId", a.OwnerID)
		b.El("creationDate", wire.XMLTime(a.CreationDate))
		b.Bool("isPublic", false)
		b.El("architecture", a.Architecture)
		b.El("imageType", "machine")
		if a.Platform == "windows" {
			b.El("platform", "windows")
			b.El("platformDetails", "Windows")
		} else {
			b.El("platformDetails", "Linux/UNIX")
		}
		b.El("usageOperation", "RunInstances")
		b.El("name", a.Name)
		b.Opt("description", a.Description)
		b.WriteString("<rootDeviceType>ebs</rootDeviceType><rootDeviceName>/dev/xvda</rootDeviceName><blockDeviceMapping/><virtualizationType>hvm</virtualizationType><hypervisor>xen</hypervisor><enaSupport>true</enaSupport>")
		writeTagSet(&b, a.Tags)
		b.Close("item")
	}
	b.Close("imagesSet")
	b.Opt("nextToken", next)
	return b.Bytes(), nil
}

func writeTagSet(b *wire.XML, tags map[string]string) {
	if len(tags) == 0 {
		return
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.Open("tagSet")
	for _, k := range keys {
		b.Open("item")
		b.El("key", k)
		b.El("value", tags[k])
		b.Close("item")
	}
	b.Close("tagSet")
}

func (s *Sim) renderLT(b *wire.XML, lt *LaunchTemplate) {
	b.El("launchTemplateId", lt.ID)
	b.El("launchTemplateName", lt.Name)
	b.Time("createTime", lt.Created)
	b.El("createdBy", "arn:aws:iam::"+s.opts.AccountID+":root")
	b.Int("defaultVersionNumber", lt.DefaultVersion)
	b.Int("latestVersionNumber", len(lt.Versions))
}

func (s *Sim) renderLTVersion(b *wire.XML, lt *LaunchTemplate, v *LTVersion) {
	b.El("launchTemplateId", lt.ID)
	b.El("launchTemplateName", lt.Name)
	b.Int("versionNumber", v.Number)
	b.Opt("versionDescription", v.Description)
	b.Time("createTime", v.Created)
	b.El("createdBy", "arn:aws:iam::"+s.opts.AccountID+":root")
	b.Bool("defaultVersion", v.Number == lt.DefaultVersion)
	b.Open("launchTemplateData")
	b.Opt("imageId", v.ImageID)
	b.Opt("instanceType", v.InstanceType)
	b.Close("launchTemplateData")
}

func (s *Sim) ec2DescribeLaunchTemplates(req *wire.Request) ([]byte, *wire.Error) {
	ids := wire.EC2List(req.Form, "LaunchTemplateId")
	names := wire.EC2List(req.Form, "LaunchTemplateName")
	f := s.fleet
	f.RLock()
	defer f.RUnlock()
	var sel []*LaunchTemplate
	for _, id := range ids {
		lt, err := f.FindLaunchTemplate(id, "")
		if err != nil {
			return nil, err
		}
		sel = append(sel, lt)
	}
	for _, n := range names {
		lt, err := f.FindLaunchTemplate("", n)
		if err != nil {
			return nil, wire.Errorf(400, "InvalidLaunchTemplateName.NotFoundException", "At least one of the launch templates specified in the request does not exist.")
		}
		sel = append(sel, lt)
	}
	if len(ids)+len(names) == 0 {
		sel = f.LaunchTemplatesLocked()
	}
	var b wire.XML
	b.Open("launchTemplates")
	for _, lt := range sel {
		b.Open("item")
		s.renderLT(&b, lt)
		b.Close("item")
	}
	b.Close("launchTemplates")
	return b.Bytes(), nil
}

func (s *Sim) ec2DescribeLaunchTemplateVersions(req *wire.Request) ([]byte, *wire.Error) {
	max, err := ec2MaxResults(req, 1, 200)
	if err != nil {
		return nil, err
	}
	f := s.fleet
	f.RLock()
	defer f.RUnlock()
	lt, werr := f.FindLaunchTemplate(req.Form.Get("LaunchTemplateId"), req.Form.Get("LaunchTemplateName"))
	if werr != nil {
		return nil, werr
	}
	specs := wire.EC2List(req.Form, "LaunchTemplateVersion")
	var vs []*LTVersion
	if len(specs) == 0 {
		vs = append(vs, lt.Versions...)
		sort.Slice(vs, func(i, j int) bool { return vs[i].Number > vs[j].Number })
	} else {
		for _, sp := range specs {
			v, ok := lt.Resolve(sp)
			if !ok {
				return nil, wire.Errorf(400, "InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %s for launch template ID %s.", sp, lt.ID)
			}
			vs = append(vs, v)
		}
	}
	scope := "DescribeLaunchTemplateVersions|" + wire.Fingerprint(req.Form, "NextToken", "MaxResults")
	off := 0
	if t := req.Form.Get("NextToken"); t != "" {
		o, ok := s.tok.Check(scope, t)
		if !ok {
			return nil, invalidParam("The parameter NextToken is invalid.")
		}
		off = min(o, len(vs))
	}
	page, next := vs[off:], ""
	if max > 0 && len(page) > max {
		page, next = page[:max], s.tok.Mint(scope, off+max)
	}
	var b wire.XML
	b.Open("launchTemplateVersionSet")
	for _, v := range page {
		b.Open("item")
		s.renderLTVersion(&b, lt, v)
		b.Close("item")
	}
	b.Close("launchTemplateVersionSet")
	b.Opt("nextToken", next)
	return b.Bytes(), nil
}

func (s *Sim) ec2CreateLaunchTemplate(req *wire.Request) ([]byte, *wire.Error) {
	name := req.Form.Get("LaunchTemplateName")
	if !ltNameRE.MatchString(name) {
		return nil, invalidParam("Launch template name must be between 3 and 128 characters, and may contain letters, numbers, and the following characters: - ( ) . / _.'")
	}
	f := s.fleet
	f.Lock()
	defer f.Unlock()
	if f.LaunchTemplateNamedLocked(name) != nil {
		return nil, wire.Errorf(400, "InvalidLaunchTemplateName.AlreadyExistsException", "Launch template name already in use.")
	}
	lt := f.CreateLaunchTemplateLocked(name, req.Form.Get("LaunchTemplateData.ImageId"), req.Form.Get("LaunchTemplateData.InstanceType"), req.Form.Get("VersionDescription"), s.Now())
	var b wire.XML
	b.Open("launchTemplate")
	s.renderLT(&b, lt)
	b.Close("launchTemplate")
	return b.Bytes(), nil
}

func (s *Sim) ec2CreateLaunchTemplateVersion(req *wire.Request) ([]byte, *wire.Error) {
	f := s.fleet
	f.Lock()
	defer f.Unlock()
	lt, err := f.FindLaunchTemplate(req.Form.Get("LaunchTemplateId"), req.Form.Get("LaunchTemplateName"))
	if err != nil {
		return nil, err
	}
	v := &LTVersion{Number: len(lt.Versions) + 1, Created: s.Now(), Description: req.Form.Get("VersionDescription")}
	if src := req.Form.Get("SourceVersion"); src != "" {
		sv, ok := lt.Resolve(src)
		if !ok {
			return nil, wire.Errorf(400, "InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %s for launch template ID %s.", src, lt.ID)
		}
		v.ImageID, v.InstanceType = sv.ImageID, sv.InstanceType
	}
	if x := req.Form.Get("LaunchTemplateData.ImageId"); x != "" {
		v.ImageID = x
	}
	if x := req.Form.Get("LaunchTemplateData.InstanceType"); x != "" {
		v.InstanceType = x
	}
	lt.Versions = append(lt.Versions, v)
	var b wire.XML
	b.Open("launchTemplateVersion")
	s.renderLTVersion(&b, lt, v)
	b.Close("launchTemplateVersion")
	return b.Bytes(), nil
}

func (s *Sim) ec2ModifyLaunchTemplate(req *wire.Request) ([]byte, *wire.Error) {
	f := s.fleet
	f.Lock()
	defer f.Unlock()
	lt, err := f.FindLaunchTemplate(req.Form.Get("LaunchTemplateId"), req.Form.Get("LaunchTemplateName"))
	if err != nil {
		return nil, err
	}
	if d := req.Form.Get("SetDefaultVersion"); d != "" {
		v, ok := lt.Resolve(d)
		if !ok {
			return nil, wire.Errorf(400, "InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %s for launch template ID %s.", d, lt.ID)
		}
		lt.DefaultVersion = v.Number
	}
	var b wire.XML
	b.Open("launchTemplate")
	s.renderLT(&b, lt)
	b.Close("launchTemplate")
	return b.Bytes(), nil
}

// tagTarget returns the tag map of a taggable resource (f.mu held).
func tagTarget(f *fleet.Fleet, id string) (map[string]string, *wire.Error) {
	switch {
	case strings.HasPrefix(id, "i-"):
		if !instanceIDRE.MatchString(id) {
			return nil, wire.Errorf(400, "InvalidInstanceID.Malformed", "Invalid id: \"%s\"", id)
		}
		in := f.InstanceLocked(id)
		if in == nil {
			return nil, notFoundIDs("InvalidInstanceID.NotFound", "instance", []string{id})
		}
		return in.Tags, nil
	case strings.HasPrefix(id, "ami-"):
		a := f.AMILocked(id)
		if a == nil {
			return nil, wire.Errorf(400, "InvalidAMIID.NotFound", "The image id '[%s]' does not exist", id)
		}
		if a.Tags == nil {
			a.Tags = map[string]string{}
		}
		return a.Tags, nil
	}
	return nil, wire.Errorf(400, "InvalidID", "The ID '%s' is not valid", id)
}

func (s *Sim) ec2CreateTags(req *wire.Request) ([]byte, *wire.Error) {
	ids := wire.EC2List(req.Form, "ResourceId")
	if len(ids) == 0 {
		return nil, wire.Errorf(400, "MissingParameter", "The request must contain the parameter resourceIdSet")
	}
	type kv struct{ k, v string }
	var tags []kv
	for _, n := range wire.Indices(req.Form, "Tag.") {
		p := "Tag." + strconv.Itoa(n) + "."
		k := req.Form.Get(p + "Key")
		if k == "" || len(k) > 128 || len(req.Form.Get(p+"Value")) > 256 {
			return nil, invalidParam("Tag key must be 1-128 characters and tag value at most 256 characters")
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, invalidParam("Tag keys starting with 'aws:' are reserved for internal use")
		}
		tags = append(tags, kv{k, req.Form.Get(p + "Value")})
	}
	f := s.fleet
	f.Lock()
	defer f.Unlock()
	var targets []map[string]string
	for _, id := range ids {
		m, err := tagTarget(f, id)
		if err != nil {
			return nil, err
		}
		targets = append(targets, m)
	}
	for _, m := range targets {
		if len(m)+len(tags) > 50 {
			return nil, wire.Errorf(400, "TagLimitExceeded", "The maximum number of Tags for a resource has been reached.")
		}
		for _, t := range tags {
			m[t.k] = t.v
		}
	}
	return []byte("<return>true</return>"), nil
}

func (s *Sim) ec2DeleteTags(req *wire.Request) ([]byte, *wire.Error) {
	ids := wire.EC2List(req.Form, "ResourceId")
	if len(ids) == 0 {
		return nil, wire.Errorf(400, "MissingParameter", "The request must contain the parameter resourceIdSet")
	}
	f := s.fleet
	f.Lock()
	defer f.Unlock()
	for _, id := range ids {
		m, err := tagTarget(f, id)
		if err != nil {
			return nil, err
		}
		for _, n := range wire.Indices(req.Form, "Tag.") {
			p := "Tag." + strconv.Itoa(n) + "."
			k := req.Form.Get(p + "Key")
			if strings.HasPrefix(strings.ToLower(k), "aws:") {
				return nil, invalidParam("Tag keys starting with 'aws:' are reserved for internal use")
			}
			if v, has := req.Form[p+"Value"]; has && m[k] != v[0] {
				continue
			}
			delete(m, k)
		}
	}
	return []byte("<return>true</return>"), nil
}

func (s *Sim) ec2TerminateInstances(req *wire.Request) ([]byte, *wire.Error) {
	ids := wire.EC2List(req.Form, "InstanceId")
	if len(ids) == 0 {
		return nil, wire.Errorf(400, "MissingParameter", "The request must contain the parameter InstanceId")
	}
	f := s.fleet
	f.Lock()
	defer f.Unlock()
	var missing []string
	for _, id := range ids {
		if !instanceIDRE.MatchString(id) {
			return nil, wire.Errorf(400, "InvalidInstanceID.Malformed", "Invalid id: \"%s\"", id)
		}
		if f.InstanceLocked(id) == nil {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, notFoundIDs("InvalidInstanceID.NotFound", "instance", missing)
	}
	now := s.Now()
	var b wire.XML
	b.Open("instancesSet")
	for _, id := range ids {
		in := f.InstanceLocked(id)
		prev := in.State
		f.TerminateInstanceLocked(in, now)
		b.Open("item")
		b.El("instanceId", id)
		b.WriteString("<currentState><code>" + strconv.Itoa(fleet.StateCode(in.State)) + "</code><name>" + in.State + "</name></currentState>")
		b.WriteString("<previousState><code>" + strconv.Itoa(fleet.StateCode(prev)) + "</code><name>" + prev + "</name></previousState>")
		b.Close("item")
	}
	b.Close("instancesSet")
	f.TouchLocked()
	return b.Bytes(), nil
}

func (s *Sim) ec2RunInstances(req *wire.Request) ([]byte, *wire.Error) {
	minC, err1 := strconv.Atoi(req.Form.Get("MinCount"))
	maxC, err2 := strconv.Atoi(req.Form.Get("MaxCount"))
	if err1 != nil || err2 != nil || minC < 1 || maxC < minC {
		return nil, invalidParam("MinCount and MaxCount must be positive integers with MinCount <= MaxCount")
	}
	if maxC > 1000 {
		return nil, wire.Errorf(400, "InstanceLimitExceeded", "You have requested more instances (%d) than your current instance limit allows.", maxC)
	}
	f := s.fleet
	f.Lock()
	defer f.Unlock()
	image, itype := req.Form.Get("ImageId"), req.Form.Get("InstanceType")
	if id, name := req.Form.Get("LaunchTemplate.LaunchTemplateId"), req.Form.Get("LaunchTemplate.LaunchTemplateName"); id != "" || name != "" {
		lt, err := f.FindLaunchTemplate(id, name)
		if err != nil {
			return nil, err
		}
		v, ok := lt.Resolve(req.Form.Get("LaunchTemplate.Version"))
		if !ok {
			return nil, wire.Errorf(400, "InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %s for launch template ID %s.", req.Form.Get("LaunchTemplate.Version"), lt.ID)
		}
		if image == "" {
			image = v.ImageID
		}
		if itype == "" {
			itype = v.InstanceType
		}
	}
	if image == "" {
		return nil, wire.Errorf(400, "MissingParameter", "The request must contain the parameter ImageId")
	}
	if f.AMILocked(image) == nil {
		return nil, wire.Errorf(400, "InvalidAMIID.NotFound", "The image id '[%s]' does not exist", image)
	}
	tags := map[string]string{}
	for _, n := range wire.Indices(req.Form, "TagSpecification.") {
		p := "TagSpecification." + strconv.Itoa(n) + "."
		if rt := req.Form.Get(p + "ResourceType"); rt != "" && rt != "instance" {
			continue
		}
		for _, m := range wire.Indices(req.Form, p+"Tag.") {
			q := p + "Tag." + strconv.Itoa(m) + "."
			tags[req.Form.Get(q+"Key")] = req.Form.Get(q + "Value")
		}
	}
	az := req.Form.Get("Placement.AvailabilityZone")
	if az == "" {
		az = s.opts.Region + "a"
	}
	now := s.Now()
	var b wire.XML
	var res string
	var made []*Instance
	for range maxC {
		t := make(map[string]string, len(tags))
		for k, v := range tags {
			t[k] = v
		}
		in := f.NewInstanceLocked(image, itype, az, t, now, f.Options().LaunchDelay)
		if res == "" {
			res = in.ReservationID
		}
		in.ReservationID = res
		made = append(made, in)
	}
	b.El("reservationId", res)
	b.El("ownerId", s.opts.AccountID)
	b.WriteString("<groupSet/>")
	b.Open("instancesSet")
	for _, in := range made {
		s.renderInstance(&b, in, now)
	}
	b.Close("instancesSet")
	f.ScheduleLocked(now)
	return b.Bytes(), nil
}
