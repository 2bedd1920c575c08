package daemon

import (
	dcollectors "github.com/driftd/driftd/collectors"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/state"
)

// CheckEnv is the environment the daemon's start-up checks run against
// (config.Check): the process's environment and file system, plus the
// parsers of the files whose formats live in packages config cannot import
// (baseline index files, the state file). `driftd validate` uses it too.
func CheckEnv() config.Env {
	env := config.OSEnv()
	env.ParseBaselineIndex = func(data []byte) error {
		_, err := dcollectors.ParseIndex(data)
		return err
	}
	env.LoadStateFile = func(path string) error {
		_, err := state.Load(path)
		return err
	}
	return env
}
