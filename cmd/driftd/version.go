package main

import (
	"encoding/json"
	"fmt"
	"os"

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
