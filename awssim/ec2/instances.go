package ec2

import (
	"strconv"

	"github.com/driftd/driftd/awssim/fleet"
	"github.com/driftd/driftd/awssim/wire"
)

func checkInstanceID(id string) *wire.Error {
	if !instanceIDRE.MatchString(id) {
		return wire.Errorf(400, "InvalidInstanceID.Malformed", "Invalid id: \"%s\"", id)
	}
	return nil
}

func instanceFilter(in *fleet.Instance, f wire.Filter) (bool, *wire.Error) {
	return attrMatch(in.Tags, f, func(name string) (string, bool) {
		switch name {
		case "instance-id":
			return in.ID, true
		case "image-id":
			return in.ImageID, true
		case "instance-state-name":
			return in.State, true
		case "instance-state-code":
			return strconv.Itoa(fleet.StateCode(in.State)), true
		case "instance-type":
			return in.InstanceType, true
		case "availability-zone":
			return in.AZ, true
		case "vpc-id":
			return in.VPCID, true
		case "subnet-id":
			return in.SubnetID, true
		case "private-ip-address":
			return in.PrivateIP, true
		case "reservation-id":
			return in.ReservationID, true
		}
		return "", false
	})
}

func (s *Service) describeInstances(req *wire.Request) ([]byte, *wire.Error) {
	d, err := s.describeParams(req, "InstanceId", "instancesSet", checkInstanceID)
	if err != nil {
		return nil, err
	}
	f := s.f
	f.RLock()
	defer f.RUnlock()
	sel, err := byID(d.ids, f.InstanceLocked, f.InstancesLocked(), func(missing []string) *wire.Error {
		return notFoundIDs("InvalidInstanceID.NotFound", "instance", missing)
	})
	if err != nil {
		return nil, err
	}
	out, err := filtered(sel, d.filters, instanceFilter)
	if err != nil {
		return nil, err
	}
	page, next := wire.Page(d.cursor, out, d.max)
	var b wire.XML
	b.Grow(len(page) * 1500)
	b.Open("reservationSet")
	for i := 0; i < len(page); {
		j := i + 1
		for j < len(page) && page[j].ReservationID == page[i].ReservationID {
			j++
		}
		b.Open("item")
		s.renderReservation(&b, page[i].ReservationID, page[i:j])
		b.Close("item")
		i = j
	}
	b.Close("reservationSet")
	b.Opt("nextToken", next)
	return b.Bytes(), nil
}

// renderReservation writes a reservation's members: its id, owner and
// instances.
func (s *Service) renderReservation(b *wire.XML, id string, ins []*fleet.Instance) {
	b.El("reservationId", id)
	b.El("ownerId", s.account())
	b.WriteString("<groupSet/>")
	wire.ItemSet(b, "instancesSet", ins, renderInstance)
}

func renderInstance(b *wire.XML, in *fleet.Instance) {
	b.El("instanceId", in.ID)
	b.El("imageId", in.ImageID)
	b.WriteString("<instanceState><code>")
	b.WriteString(strconv.Itoa(fleet.StateCode(in.State)))
	b.WriteString("</code><name>")
	b.WriteString(in.State)
	b.WriteString("</name></instanceState>")
	gone := in.State == fleet.StateTerminated || in.State == fleet.StateShuttingDown
	dns := ""
	if in.State != fleet.StateTerminated {
		dns = in.ComputerName
	}
	b.El("privateDnsName", dns)
	b.WriteString("<dnsName/>")
	if gone {
		b.El("reason", "User initiated ("+in.LaunchTime.UTC().Format("2006-01-02 15:04:05 MST")+")")
	}
	b.Int("amiLaunchIndex", 0)
	b.WriteString("<productCodes/>")
	b.El("instanceType", in.InstanceType)
	b.Time("launchTime", in.LaunchTime)
	b.WriteString("<placement><availabilityZone>")
	b.WriteString(in.AZ)
	b.WriteString("</availabilityZone><groupName/><tenancy>default</tenancy></placement>")
	ami := in.AMI()
	platformDetails := "Linux/UNIX"
	if ami != nil && ami.Platform == "windows" {
		b.El("platform", "windows")
		platformDetails = "Windows"
	}
	b.WriteString("<monitoring><state>disabled</state></monitoring>")
	if in.State != fleet.StateTerminated {
		b.El("subnetId", in.SubnetID)
		b.El("vpcId", in.VPCID)
		b.El("privateIpAddress", in.PrivateIP)
	}
	b.WriteString("<sourceDestCheck>true</sourceDestCheck><groupSet/>")
	if gone {
		b.WriteString("<stateReason><code>Client.UserInitiatedShutdown</code><message>Client.UserInitiatedShutdown: User initiated shutdown</message></stateReason>")
	}
	arch := "x86_64"
	if ami != nil && ami.Architecture != "" {
		arch = ami.Architecture
	}
	b.El("architecture", arch)
	b.WriteString("<rootDeviceType>ebs</rootDeviceType><rootDeviceName>/dev/xvda</rootDeviceName><blockDeviceMapping/>")
	b.WriteString("<virtualizationType>hvm</virtualizationType><clientToken/>")
	wire.TagSet(b, in.Tags)
	b.WriteString("<hypervisor>xen</hypervisor><ebsOptimized>false</ebsOptimized><enaSupport>true</enaSupport>")
	b.El("platformDetails", platformDetails)
	b.WriteString("<usageOperation>RunInstances</usageOperation>")
	b.Time("usageOperationUpdateTime", in.LaunchTime)
	b.WriteString("<metadataOptions><state>applied</state><httpTokens>required</httpTokens><httpPutResponseHopLimit>2</httpPutResponseHopLimit><httpEndpoint>enabled</httpEndpoint></metadataOptions>")
	b.WriteString("<bootMode>uefi-preferred</bootMode>")
}

func (s *Service) terminateInstances(req *wire.Request) ([]byte, *wire.Error) {
	ids := wire.EC2List(req.Form, "InstanceId")
	if len(ids) == 0 {
		return nil, wire.Errorf(400, "MissingParameter", "The request must contain the parameter InstanceId")
	}
	f := s.f
	f.Lock()
	defer f.Unlock()
	var missing []string
	for _, id := range ids {
		if err := checkInstanceID(id); err != nil {
			return nil, err
		}
		if f.InstanceLocked(id) == nil {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, notFoundIDs("InvalidInstanceID.NotFound", "instance", missing)
	}
	now := f.Now()
	var b wire.XML
	wire.ItemSet(&b, "instancesSet", ids, func(b *wire.XML, id string) {
		in := f.InstanceLocked(id)
		prev := in.State
		f.TerminateInstanceLocked(in, now)
		b.El("instanceId", id)
		b.WriteString("<currentState><code>" + strconv.Itoa(fleet.StateCode(in.State)) + "</code><name>" + in.State + "</name></currentState>")
		b.WriteString("<previousState><code>" + strconv.Itoa(fleet.StateCode(prev)) + "</code><name>" + prev + "</name></previousState>")
	})
	f.TouchLocked()
	return b.Bytes(), nil
}

func (s *Service) runInstances(req *wire.Request) ([]byte, *wire.Error) {
	minC, err1 := strconv.Atoi(req.Form.Get("MinCount"))
	maxC, err2 := strconv.Atoi(req.Form.Get("MaxCount"))
	if err1 != nil || err2 != nil || minC < 1 || maxC < minC {
		return nil, invalidParam("MinCount and MaxCount must be positive integers with MinCount <= MaxCount")
	}
	if maxC > 1000 {
		return nil, wire.Errorf(400, "InstanceLimitExceeded", "You have requested more instances (%d) than your current instance limit allows.", maxC)
	}
	f := s.f
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
			return nil, versionNotFound(req.Form.Get("LaunchTemplate.Version"), lt.ID)
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
		az = f.Options().Region + "a"
	}
	now := f.Now()
	var res string
	made := make([]*fleet.Instance, 0, maxC)
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
	var b wire.XML
	s.renderReservation(&b, res, made)
	f.ScheduleLocked(now)
	return b.Bytes(), nil
}
