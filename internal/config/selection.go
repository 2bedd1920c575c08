package config

import "path"

// Selection chooses which instances are scanned.
type Selection struct {
	// Tags are EC2 tag filters: every key must match one of its values
	// ("*" wildcards as EC2 filters allow).
	Tags map[string][]string `yaml:"tags"`
	// ASGNames restricts ASG members to these groups (globs). Empty = all groups.
	ASGNames []string `yaml:"asg_names"`
	// IncludeStandalone also scans running instances outside any ASG.
	IncludeStandalone bool `yaml:"include_standalone"`
}

// Validate checks the selection section.
func (s Selection) Validate() []error {
	var errs errorList
	for _, k := range sortedKeys(s.Tags) {
		if k == "" {
			errs.add("selection.tags: empty tag key")
			continue
		}
		if len(s.Tags[k]) == 0 {
			errs.add("selection.tags.%s: needs at least one value", k)
		}
		if len(s.Tags[k]) > 200 {
			errs.add("selection.tags.%s: %d values exceed the EC2 limit of 200", k, len(s.Tags[k]))
		}
	}
	for i, n := range s.ASGNames {
		if n == "" {
			errs.add("selection.asg_names[%d]: empty name", i)
		} else if _, err := path.Match(n, ""); err != nil {
			errs.add("selection.asg_names[%d]: bad glob %q", i, n)
		}
	}
	return errs
}
