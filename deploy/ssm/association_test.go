package ssm

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/intrinsics"
	"go.yaml.in/yaml/v3"
)

const (
	beginMarker = "# BEGIN generated from driftd-custom-inventory.yaml"
	endMarker   = "# END generated"
)

// embedDocument returns association.yaml with the document (without its
// header comments) between the markers, indented under Content.
func embedDocument(t *testing.T, tpl, doc []byte) []byte {
	t.Helper()
	lines := strings.Split(string(tpl), "\n")
	begin, end := -1, -1
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), beginMarker) {
			begin = i
		}
		if strings.TrimSpace(l) == endMarker {
			end = i
		}
	}
	if begin < 0 || end < begin {
		t.Fatalf("%s: markers %q ... %q not found", associationFile, beginMarker, endMarker)
	}
	indent := lines[begin][:len(lines[begin])-len(strings.TrimLeft(lines[begin], " "))]
	var body []string
	for _, l := range strings.Split(strings.TrimRight(string(doc), "\n"), "\n") {
		if strings.HasPrefix(l, "#") {
			continue
		}
		body = append(body, indent+l)
	}
	out := append(append(append([]string{}, lines[:begin+1]...), body...), lines[end:]...)
	return []byte(strings.Join(out, "\n"))
}

func canonicalJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAssociationTemplate(t *testing.T) {
	doc, err := os.ReadFile(documentFile)
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := os.ReadFile(associationFile)
	if err != nil {
		t.Fatal(err)
	}
	want := embedDocument(t, tpl, doc)
	if *update {
		if err := os.WriteFile(associationFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
		tpl = want
	}
	if !bytes.Equal(tpl, want) {
		t.Fatalf("%s embeds an outdated document: run go test ./deploy/ssm -update", associationFile)
	}

	cf, err := goformation.ParseYAMLWithOptions(tpl, &intrinsics.ProcessorOptions{
		ParameterOverrides: map[string]any{"TargetTagValues": []any{"true"}},
	})
	if err != nil {
		t.Fatalf("goformation: %v", err)
	}
	d, err := cf.GetSSMDocumentWithName("InventoryDocument")
	if err != nil {
		t.Fatal(err)
	}
	var docMap any
	if err := yaml.Unmarshal(doc, &docMap); err != nil {
		t.Fatal(err)
	}
	if canonicalJSON(t, d.Content) != canonicalJSON(t, docMap) {
		t.Error("InventoryDocument.Content differs from driftd-custom-inventory.yaml")
	}
	if d.DocumentType == nil || *d.DocumentType != "Command" {
		t.Errorf("DocumentType = %v, want Command", d.DocumentType)
	}

	a, err := cf.GetSSMAssociationWithName("CustomInventoryAssociation")
	if err != nil {
		t.Fatal(err)
	}
	if a.ScheduleExpression == nil || *a.ScheduleExpression != "rate(30 minutes)" {
		t.Errorf("ScheduleExpression = %v, want rate(30 minutes)", a.ScheduleExpression)
	}
	if len(a.Targets) != 1 || a.Targets[0].Key != "tag:driftd:watch" {
		t.Errorf("Targets = %+v, want tag:driftd:watch", a.Targets)
	}
	// Every parameter the association passes exists in the document.
	var dd document
	if err := yaml.Unmarshal(doc, &dd); err != nil {
		t.Fatal(err)
	}
	params, _ := a.Parameters.(map[string]any)
	if len(params) == 0 {
		t.Fatal("association passes no parameters")
	}
	for k := range params {
		if _, ok := dd.Parameters[k]; !ok {
			t.Errorf("association parameter %q is not a document parameter", k)
		}
	}
	g, err := cf.GetSSMAssociationWithName("GatherInventoryAssociation")
	if err != nil {
		t.Fatal(err)
	}
	if g.AWSCloudFormationCondition != "CreateInventory" {
		t.Errorf("GatherInventoryAssociation condition %q, want CreateInventory (only one inventory association per node)", g.AWSCloudFormationCondition)
	}
	if gp, _ := g.Parameters.(map[string]any); canonicalJSON(t, gp["customInventory"]) != `["Enabled"]` {
		t.Errorf("AWS-GatherSoftwareInventory customInventory = %v, want [Enabled]", gp["customInventory"])
	}
}
