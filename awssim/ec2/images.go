package ec2

import (
	"slices"
	"strings"

	"github.com/driftd/driftd/awssim/fleet"
	"github.com/driftd/driftd/awssim/wire"
)

func checkImageID(id string) *wire.Error {
	if !fleet.ValidAMIID(id) {
		return wire.Errorf(400, "InvalidAMIID.Malformed", "Invalid id: \"%s\" (expecting \"ami-...\")", id)
	}
	return nil
}

func imageFilter(a *fleet.AMI, f wire.Filter) (bool, *wire.Error) {
	return attrMatch(a.Tags, f, func(name string) (string, bool) {
		switch name {
		case "image-id":
			return a.ID, true
		case "name":
			return a.Name, true
		case "state":
			return "available", true
		case "owner-id":
			return a.OwnerID, true
		case "architecture":
			return a.Architecture, true
		case "platform":
			return a.Platform, true
		case "image-type":
			return "machine", true
		case "is-public":
			return "false", true
		}
		return "", false
	})
}

// ownedBy reports whether an image belongs to one of the Owner values
// (self, amazon or an account id); no Owner: any.
func ownedBy(a *fleet.AMI, owners []string) bool {
	return len(owners) == 0 || slices.ContainsFunc(owners, func(o string) bool {
		return o == "self" || o == a.OwnerID || (o == "amazon" && a.OwnerID == amazonOwner)
	})
}

func (s *Service) describeImages(req *wire.Request) ([]byte, *wire.Error) {
	owners := wire.EC2List(req.Form, "Owner")
	d, err := s.describeParams(req, "ImageId", "ImageIds", checkImageID)
	if err != nil {
		return nil, err
	}
	f := s.f
	f.RLock()
	defer f.RUnlock()
	sel, err := byID(d.ids, f.AMILocked, f.AMIsLocked(), func(missing []string) *wire.Error {
		return wire.Errorf(400, "InvalidAMIID.NotFound", "The image id '[%s]' does not exist", strings.Join(missing, ", "))
	})
	if err != nil {
		return nil, err
	}
	var owned []*fleet.AMI
	for _, a := range sel {
		if ownedBy(a, owners) {
			owned = append(owned, a)
		}
	}
	out, err := filtered(owned, d.filters, imageFilter)
	if err != nil {
		return nil, err
	}
	page, next := wire.Page(d.cursor, out, d.max)
	var b wire.XML
	wire.ItemSet(&b, "imagesSet", page, renderImage)
	b.Opt("nextToken", next)
	return b.Bytes(), nil
}

func renderImage(b *wire.XML, a *fleet.AMI) {
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
	wire.TagSet(b, a.Tags)
}
