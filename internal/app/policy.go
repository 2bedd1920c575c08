package app

import (
	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
)

// defaultRules returns the shipped default policy's rules when the
// configuration includes it.
func defaultRules(cfg *config.Config) []drift.Rule {
	return nil
}
