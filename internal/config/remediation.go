package config

// Remediation is the `remediation:` section (owned by the remediation feature).
type Remediation struct{}
