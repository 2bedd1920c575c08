package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/buildinfo"
	"github.com/driftd/driftd/scan"
)

// OCSF output (driftd scan --output ocsf): one OCSF 1.3.0 Compliance
// Finding event (class_uid 2003, category Findings) per scanned instance,
// as JSON Lines — the class of "results of evaluations performed against
// resources" (https://schema.ocsf.io/1.3.0/classes/compliance_finding;
// github.com/ocsf/ocsf-schema events/findings/compliance_finding.json).
// The required attributes of the class and its base event are set:
// activity_id, category_uid, class_uid, type_uid, severity_id, time,
// metadata (version, product), finding_info (uid, title) and compliance
// (standards), plus the cloud profile and the instance as a resource.
const (
	ocsfVersion       = "1.3.0"
	ocsfCategoryUID   = 2 // Findings
	ocsfClassUID      = 2003
	ocsfActivityID    = 1 // Create: each scan reports its findings anew
	ocsfStandard      = "driftd AMI baseline"
	ocsfControl       = "Instance matches the baseline manifest of its AMI"
	ocsfFindingsShown = 20
)

// OCSFEvent is one Compliance Finding event.
type OCSFEvent struct {
	ActivityID   int             `json:"activity_id"`
	ActivityName string          `json:"activity_name"`
	CategoryUID  int             `json:"category_uid"`
	CategoryName string          `json:"category_name"`
	ClassUID     int             `json:"class_uid"`
	ClassName    string          `json:"class_name"`
	TypeUID      int             `json:"type_uid"`
	TypeName     string          `json:"type_name"`
	SeverityID   int             `json:"severity_id"`
	Severity     string          `json:"severity"`
	StatusID     int             `json:"status_id,omitempty"`
	Status       string          `json:"status,omitempty"`
	Time         int64           `json:"time"`
	Message      string          `json:"message"`
	Metadata     OCSFMetadata    `json:"metadata"`
	FindingInfo  OCSFFindingInfo `json:"finding_info"`
	Compliance   OCSFCompliance  `json:"compliance"`
	Resources    []OCSFResource  `json:"resources"`
	Cloud        OCSFCloud       `json:"cloud"`
	Unmapped     map[string]any  `json:"unmapped,omitempty"`
}

// OCSFMetadata is the event's metadata object.
type OCSFMetadata struct {
	Version string      `json:"version"`
	Product OCSFProduct `json:"product"`
}

// OCSFProduct names the reporting product.
type OCSFProduct struct {
	Name       string `json:"name"`
	VendorName string `json:"vendor_name"`
	Version    string `json:"version"`
}

// OCSFFindingInfo is the finding_info object.
type OCSFFindingInfo struct {
	UID   string   `json:"uid"`
	Title string   `json:"title"`
	Desc  string   `json:"desc,omitempty"`
	Types []string `json:"types"`
}

// OCSFCompliance is the compliance object.
type OCSFCompliance struct {
	Standards    []string `json:"standards"`
	Control      string   `json:"control"`
	StatusID     int      `json:"status_id"`
	Status       string   `json:"status"`
	StatusDetail string   `json:"status_detail,omitempty"`
}

// OCSFResource is a resource_details object.
type OCSFResource struct {
	UID            string            `json:"uid"`
	Type           string            `json:"type"`
	Region         string            `json:"region,omitempty"`
	CloudPartition string            `json:"cloud_partition,omitempty"`
	Labels         []string          `json:"labels,omitempty"`
	Data           map[string]string `json:"data,omitempty"`
}

// OCSFCloud is the cloud profile's object.
type OCSFCloud struct {
	Provider string `json:"provider"`
	Region   string `json:"region,omitempty"`
}

// ocsfSeverity maps a drift severity to OCSF severity_id and caption
// (driftd has no Medium).
func ocsfSeverity(s drift.Severity) (int, string) {
	switch s {
	case drift.SeverityCritical:
		return 5, "Critical"
	case drift.SeverityHigh:
		return 4, "High"
	case drift.SeverityLow:
		return 2, "Low"
	}
	return 1, "Informational"
}

// ocsfComplianceStatus maps a verdict to the compliance object's status:
// Pass (in sync), Fail (drifted), Warning — "did not yield a result due to
// missing information" — for unknown, stale and no_baseline, and Other
// (Exempt) for exempt instances.
func ocsfComplianceStatus(v drift.Verdict) (int, string) {
	switch v {
	case drift.VerdictInSync:
		return 1, "Pass"
	case drift.VerdictDrifted:
		return 3, "Fail"
	case drift.VerdictExempt:
		return 99, "Exempt"
	}
	return 2, "Warning"
}

func ocsfPartition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// ocsfEvent renders one instance of a scan.
func ocsfEvent(res *scan.Result, ir *scan.InstanceResult, region string) OCSFEvent {
	r := ir.Report
	sevID, sev := ocsfSeverity(r.Severity)
	stID, st := ocsfComplianceStatus(r.Verdict)
	total := max(r.FindingsTotal, len(r.Findings))
	ev := OCSFEvent{
		ActivityID: ocsfActivityID, ActivityName: "Create",
		CategoryUID: ocsfCategoryUID, CategoryName: "Findings",
		ClassUID: ocsfClassUID, ClassName: "Compliance Finding",
		TypeUID: ocsfClassUID*100 + ocsfActivityID, TypeName: "Compliance Finding: Create",
		SeverityID: sevID, Severity: sev,
		Time:     res.Finished.UnixMilli(),
		Metadata: OCSFMetadata{Version: ocsfVersion, Product: OCSFProduct{Name: "driftd", VendorName: "driftd", Version: buildinfo.Version}},
		FindingInfo: OCSFFindingInfo{
			UID:   "driftd/" + r.InstanceID,
			Title: fmt.Sprintf("EC2 instance %s: %s against the baseline of %s", r.InstanceID, r.Verdict, r.AMI),
			Types: []string{"AMI Baseline Drift"},
		},
		Compliance: OCSFCompliance{Standards: []string{ocsfStandard}, Control: ocsfControl, StatusID: stID, Status: st},
		Resources: []OCSFResource{{
			UID: r.InstanceID, Type: "AWS::EC2::Instance", Region: region, CloudPartition: ocsfPartition(region),
			Data: map[string]string{"ami": r.AMI},
		}},
		Cloud: OCSFCloud{Provider: "AWS", Region: region},
	}
	extra := map[string]any{"verdict": r.Verdict, "findings_total": total}
	if len(r.Counts) > 0 {
		extra["finding_counts"] = r.Counts
	}
	ev.Unmapped = map[string]any{"driftd": extra}
	if r.ASG != "" {
		ev.Resources[0].Labels = []string{"aws:autoscaling:groupName=" + r.ASG}
		ev.Resources[0].Data["asg"] = r.ASG
	}
	switch r.Verdict {
	case drift.VerdictDrifted:
		ev.StatusID, ev.Status = 1, "New"
		noun := "findings"
		if total == 1 {
			noun = "finding"
		}
		ev.Message = fmt.Sprintf("%d %s, max severity %s", total, noun, r.Severity)
		var lines []string
		for _, f := range drift.TopFindings(r.Findings, ocsfFindingsShown) {
			lines = append(lines, f.String())
		}
		ev.FindingInfo.Desc = strings.Join(lines, "\n")
		ev.Compliance.StatusDetail = ev.Message
	default:
		ev.Message = string(r.Verdict)
		if len(r.Reasons) > 0 {
			ev.Compliance.StatusDetail = drift.Printable(strings.Join(r.Reasons, "; "))
			ev.Message += ": " + ev.Compliance.StatusDetail
		}
	}
	return ev
}

// renderOCSF writes one Compliance Finding per instance as JSON Lines,
// an instance at a time.
func renderOCSF(out io.Writer, res *scan.Result, region string) error {
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range res.Instances {
		if res.Instances[i].Report == nil {
			continue
		}
		if err := enc.Encode(ocsfEvent(res, &res.Instances[i], region)); err != nil {
			return err
		}
	}
	return w.Flush()
}
