package config

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// Baselines is the `baselines:` section: the ordered list of baseline
// sources. For each AMI the sources are asked in order; the first that has a
// manifest answers, and a no_baseline verdict lists why every source failed.
//
// Each entry sets exactly one kind key:
//
//	baselines:
//	  - name: local            # optional label (metrics, reasons); default: the kind
//	    dir:
//	      path: /etc/driftd/baselines
//	      index: index.yaml    # optional, relative to path
//
// New kinds (s3, ssm_parameter, image_builder) are added as new pointer
// fields on BaselineSource, a case in Kind(), and a validate method; strict
// decoding then rejects keys that do not belong to the chosen kind.
type Baselines []BaselineSource

// BaselineSource is one entry of the baselines list.
type BaselineSource struct {
	// Name labels the source in metrics (driftd_baseline_errors_total{source})
	// and no_baseline reasons. Default: the kind, suffixed with the list
	// index when the kind appears more than once.
	Name string `yaml:"name"`

	// Dir reads manifests from a local directory.
	Dir *DirBaseline `yaml:"dir"`

	// Sources beyond the local directory (baselines_sources.go).
	S3           *S3Baseline           `yaml:"s3"`
	SSMParameter *SSMParameterBaseline `yaml:"ssm_parameter"`
	ImageBuilder *ImageBuilderBaseline `yaml:"image_builder"`
}

// DirBaseline is a directory of manifests. Files named after the AMI
// (<ami-id>.yaml, .yml, .json, .cdx.json, .spdx.json, .imagebuilder.json) are
// found automatically; an optional index file maps AMI ids or AMI name globs
// to files.
type DirBaseline struct {
	Path string `yaml:"path"`
	// Index is an optional YAML file (relative to Path) of the form
	//
	//	entries:
	//	  - ami: ami-0123456789abcdef0
	//	    file: web-2026-05.yaml
	//	  - name: "web-base-*"   # glob on the AMI name (DescribeImages)
	//	    file: web-latest.cdx.json
	//
	// The first matching entry wins; files named after the AMI id are tried
	// before the index.
	Index string `yaml:"index"`
}

// Baseline source kinds.
const (
	BaselineKindDir = "dir"
)

// Kind returns the entry's kind, or "" when no or several kinds are set.
func (s BaselineSource) Kind() string {
	k := s.kinds()
	if len(k) != 1 {
		return ""
	}
	return k[0]
}

func (s BaselineSource) kinds() []string {
	var k []string
	if s.Dir != nil {
		k = append(k, BaselineKindDir)
	}
	k = append(k, s.sourceKinds()...)
	return k
}

// knownKinds lists every kind key, for error messages.
var knownKinds = append([]string{BaselineKindDir}, remoteKinds...)

var sourceNameRe = regexp.MustCompile(`^[a-zA-Z0-9_.\-]{1,64}$`)

func (b Baselines) applyDefaults() {
	count := map[string]int{}
	for _, s := range b {
		count[s.Kind()]++
	}
	for i := range b {
		if b[i].Name != "" {
			continue
		}
		k := b[i].Kind()
		if k == "" {
			continue
		}
		if count[k] > 1 {
			b[i].Name = fmt.Sprintf("%s-%d", k, i)
		} else {
			b[i].Name = k
		}
	}
}

// Validate checks every source; messages name the full key.
func (b Baselines) Validate() []error {
	var errs []error
	if len(b) == 0 {
		return []error{fmt.Errorf("baselines: at least one baseline source is required (e.g. - dir: {path: /etc/driftd/baselines})")}
	}
	names := map[string]int{}
	for i, s := range b {
		key := fmt.Sprintf("baselines[%d]", i)
		switch k := s.kinds(); len(k) {
		case 0:
			errs = append(errs, fmt.Errorf("%s: exactly one source kind must be set (one of %s)", key, strings.Join(knownKinds, ", ")))
		case 1:
		default:
			errs = append(errs, fmt.Errorf("%s: exactly one source kind must be set, found %s", key, strings.Join(k, " and ")))
		}
		if s.Name != "" {
			if !sourceNameRe.MatchString(s.Name) {
				errs = append(errs, fmt.Errorf("%s.name: %q must be 1-64 letters, digits, '.', '_' or '-'", key, s.Name))
			} else if j, dup := names[s.Name]; dup {
				errs = append(errs, fmt.Errorf("%s.name: %q duplicates baselines[%d]", key, s.Name, j))
			} else {
				names[s.Name] = i
			}
		}
		if s.Dir != nil {
			errs = append(errs, s.Dir.validate(key+".dir")...)
		}
		errs = append(errs, s.validateSources(key)...)
	}
	return errs
}

func (d *DirBaseline) validate(key string) []error {
	var errs []error
	if d.Path == "" {
		errs = append(errs, fmt.Errorf("%s.path: required", key))
	}
	if d.Index != "" && filepath.IsAbs(d.Index) {
		errs = append(errs, fmt.Errorf("%s.index: %q must be relative to %s.path", key, d.Index, key))
	} else if d.Index != "" && strings.HasPrefix(filepath.Clean(d.Index), "..") {
		errs = append(errs, fmt.Errorf("%s.index: %q must stay inside %s.path", key, d.Index, key))
	}
	return errs
}

// resolvePaths makes relative directory paths relative to the config file.
func (b Baselines) resolvePaths(base string) {
	for i := range b {
		if d := b[i].Dir; d != nil && d.Path != "" && !filepath.IsAbs(d.Path) {
			d.Path = filepath.Join(base, d.Path)
		}
	}
}
