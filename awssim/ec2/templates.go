package ec2

import (
	"sort"

	"github.com/driftd/driftd/awssim/fleet"
	"github.com/driftd/driftd/awssim/wire"
)

func (s *Service) renderLT(b *wire.XML, lt *fleet.LaunchTemplate) {
	b.El("launchTemplateId", lt.ID)
	b.El("launchTemplateName", lt.Name)
	b.Time("createTime", lt.Created)
	b.El("createdBy", "arn:aws:iam::"+s.account()+":root")
	b.Int("defaultVersionNumber", lt.DefaultVersion)
	b.Int("latestVersionNumber", len(lt.Versions))
}

func (s *Service) renderLTVersion(b *wire.XML, lt *fleet.LaunchTemplate, v *fleet.LTVersion) {
	b.El("launchTemplateId", lt.ID)
	b.El("launchTemplateName", lt.Name)
	b.Int("versionNumber", v.Number)
	b.Opt("versionDescription", v.Description)
	b.Time("createTime", v.Created)
	b.El("createdBy", "arn:aws:iam::"+s.account()+":root")
	b.Bool("defaultVersion", v.Number == lt.DefaultVersion)
	b.Open("launchTemplateData")
	b.Opt("imageId", v.ImageID)
	b.Opt("instanceType", v.InstanceType)
	b.Close("launchTemplateData")
}

// launchTemplate renders one launch template wrapped in element.
func (s *Service) launchTemplate(element string, lt *fleet.LaunchTemplate) []byte {
	var b wire.XML
	b.Open(element)
	s.renderLT(&b, lt)
	b.Close(element)
	return b.Bytes()
}

func (s *Service) describeLaunchTemplates(req *wire.Request) ([]byte, *wire.Error) {
	ids := wire.EC2List(req.Form, "LaunchTemplateId")
	names := wire.EC2List(req.Form, "LaunchTemplateName")
	f := s.f
	f.RLock()
	defer f.RUnlock()
	var sel []*fleet.LaunchTemplate
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
	wire.ItemSet(&b, "launchTemplates", sel, s.renderLT)
	return b.Bytes(), nil
}

func (s *Service) describeLaunchTemplateVersions(req *wire.Request) ([]byte, *wire.Error) {
	max, err := maxResults(req, 1, 200)
	if err != nil {
		return nil, err
	}
	f := s.f
	f.RLock()
	defer f.RUnlock()
	lt, err := f.FindLaunchTemplate(req.Form.Get("LaunchTemplateId"), req.Form.Get("LaunchTemplateName"))
	if err != nil {
		return nil, err
	}
	specs := wire.EC2List(req.Form, "LaunchTemplateVersion")
	var vs []*fleet.LTVersion
	if len(specs) == 0 {
		vs = append(vs, lt.Versions...)
		sort.Slice(vs, func(i, j int) bool { return vs[i].Number > vs[j].Number })
	} else {
		for _, sp := range specs {
			v, ok := lt.Resolve(sp)
			if !ok {
				return nil, versionNotFound(sp, lt.ID)
			}
			vs = append(vs, v)
		}
	}
	cur, err := s.cursor(req)
	if err != nil {
		return nil, err
	}
	page, next := wire.Page(cur, vs, max)
	var b wire.XML
	wire.ItemSet(&b, "launchTemplateVersionSet", page, func(b *wire.XML, v *fleet.LTVersion) { s.renderLTVersion(b, lt, v) })
	b.Opt("nextToken", next)
	return b.Bytes(), nil
}

func (s *Service) createLaunchTemplate(req *wire.Request) ([]byte, *wire.Error) {
	name := req.Form.Get("LaunchTemplateName")
	if !ltNameRE.MatchString(name) {
		return nil, invalidParam("Launch template name must be between 3 and 128 characters, and may contain letters, numbers, and the following characters: - ( ) . / _.'")
	}
	f := s.f
	f.Lock()
	defer f.Unlock()
	if f.LaunchTemplateNamedLocked(name) != nil {
		return nil, wire.Errorf(400, "InvalidLaunchTemplateName.AlreadyExistsException", "Launch template name already in use.")
	}
	lt := f.CreateLaunchTemplateLocked(name, req.Form.Get("LaunchTemplateData.ImageId"), req.Form.Get("LaunchTemplateData.InstanceType"), req.Form.Get("VersionDescription"), f.Now())
	return s.launchTemplate("launchTemplate", lt), nil
}

func (s *Service) createLaunchTemplateVersion(req *wire.Request) ([]byte, *wire.Error) {
	f := s.f
	f.Lock()
	defer f.Unlock()
	lt, err := f.FindLaunchTemplate(req.Form.Get("LaunchTemplateId"), req.Form.Get("LaunchTemplateName"))
	if err != nil {
		return nil, err
	}
	v := &fleet.LTVersion{Number: len(lt.Versions) + 1, Created: f.Now(), Description: req.Form.Get("VersionDescription")}
	if src := req.Form.Get("SourceVersion"); src != "" {
		sv, ok := lt.Resolve(src)
		if !ok {
			return nil, versionNotFound(src, lt.ID)
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

func (s *Service) modifyLaunchTemplate(req *wire.Request) ([]byte, *wire.Error) {
	f := s.f
	f.Lock()
	defer f.Unlock()
	lt, err := f.FindLaunchTemplate(req.Form.Get("LaunchTemplateId"), req.Form.Get("LaunchTemplateName"))
	if err != nil {
		return nil, err
	}
	if d := req.Form.Get("SetDefaultVersion"); d != "" {
		v, ok := lt.Resolve(d)
		if !ok {
			return nil, versionNotFound(d, lt.ID)
		}
		lt.DefaultVersion = v.Number
	}
	return s.launchTemplate("launchTemplate", lt), nil
}
