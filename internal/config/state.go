package config

import "strings"

// State is the `state:` section.
type State struct {
	// File, when set, persists per-instance verdict history across restarts.
	File string `yaml:"file"`
	// FromTags restores first-seen-drifted times from the driftd:status and
	// driftd:since instance tags when the state file has no entry. Default true.
	FromTags *bool `yaml:"from_tags"`
}

// RestoreFromTags reports whether tags are consulted on restart.
func (s State) RestoreFromTags() bool { return s.FromTags == nil || *s.FromTags }

// Validate checks the state section. Whether the file can be read and its
// directory exists is Check's business (the environment's, not the file's).
func (s State) Validate() []error {
	var errs errorList
	if s.File != "" && (strings.HasSuffix(s.File, "/") || strings.ContainsRune(s.File, 0)) {
		errs.add("state.file: %q is not a file path", s.File)
	}
	return errs
}
