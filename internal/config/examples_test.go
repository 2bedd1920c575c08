package config

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestExampleShowsEverySection: examples/driftd.yaml is documented as
// showing every section; it sets each top-level key of the schema (or shows
// it commented out), and the inventory source key.
func TestExampleShowsEverySection(t *testing.T) {
	data, err := os.ReadFile("../../examples/driftd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	typ := reflect.TypeOf(Config{})
	for i := range typ.NumField() {
		key, _, _ := strings.Cut(typ.Field(i).Tag.Get("yaml"), ",")
		if key == "" || key == "-" {
			continue
		}
		// An optional section that needs something from the environment
		// (a token) may be shown commented out.
		if _, ok := doc[key]; !ok && !regexp.MustCompile(`(?m)^# ?`+key+`:`).Match(data) {
			t.Errorf("examples/driftd.yaml has no %s section (nor a commented one)", key)
		}
	}
	inv, _ := doc["inventory"].(map[string]any)
	if _, ok := inv["source"]; !ok {
		t.Error("examples/driftd.yaml does not show inventory.source")
	}
	c, err := Load("../../examples/driftd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Remediation.Groups) == 0 || len(c.Alerting.Sinks) == 0 {
		t.Errorf("the example configures %d remediation groups and %d sinks; want some of each", len(c.Remediation.Groups), len(c.Alerting.Sinks))
	}
}
