package collectors

import (
	"encoding/json"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/driftd/driftd/drift"
)

// DecodeManifest decodes a native driftd manifest (YAML or JSON).
func DecodeManifest(name string, data []byte) (*drift.Manifest, error) {
	var m drift.Manifest
	switch {
	case strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml"):
		var v any
		if err := yaml.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("decoding YAML: %w", err)
		}
		j, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("decoding YAML: %w", err)
		}
		data = j
		fallthrough
	case strings.HasSuffix(name, ".json"):
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("decoding manifest: %w", err)
		}
	default:
		return nil, fmt.Errorf("unsupported manifest format %q", name)
	}
	return &m, nil
}
