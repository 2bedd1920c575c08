package config

// Alerting is the `alerting:` section (owned by the alerting feature).
type Alerting struct{}
