package config

// Baselines is the `baselines:` section: the ordered list of baseline sources.
type Baselines struct{}
