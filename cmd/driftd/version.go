package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/alecthomas/kong"

	"github.com/driftd/driftd/internal/buildinfo"
)

type versionCmd struct {
	JSON bool `help:"Print as JSON."`
}

func init() { register("version", "Print the version and build info.", &versionCmd{}) }

func (c *versionCmd) Run() error {
	info := buildinfo.Get()
	if c.JSON {
		return json.NewEncoder(os.Stdout).Encode(info)
	}
	fmt.Println(info.String())
	return nil
}

// versionFlag is the global --version flag: it prints what `driftd version`
// prints and stops before any subcommand is required or run.
type versionFlag bool

// errVersionShown ends parsing after --version printed the version; run()
// turns it into exit status 0.
var errVersionShown = errors.New("version shown")

func (versionFlag) BeforeReset(app *kong.Kong) error {
	fmt.Fprintln(app.Stdout, buildinfo.Get().String())
	return errVersionShown
}
