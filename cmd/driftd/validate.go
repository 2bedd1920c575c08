package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/daemon"
	"github.com/driftd/driftd/internal/webauth"
)

type validateCmd struct {
	Config        string `help:"Configuration file to check." required:"" type:"path" short:"c"`
	WebConfigFile string `name:"web.config.file" help:"Web configuration file to check as driftd run --web.config.file reads it at start (TLS, client certificates, basic-auth users)." type:"path" placeholder:"FILE"`
}

func init() {
	register("validate", "Check a configuration file exactly as the daemon does at start (the file, plus secrets, directories and the listen address it names) and print every error (exit 0 when valid).", &validateCmd{})
}

func (c *validateCmd) Run() error { return c.run(os.Stdout) }

func (c *validateCmd) run(out io.Writer) error { return c.runEnv(out, daemon.CheckEnv()) }

// runEnv checks the file with config.LoadChecked, the function daemon start
// and every reload call (internal/daemon), against env.
func (c *validateCmd) runEnv(out io.Writer, env config.Env) error {
	cfg, err := config.LoadChecked(c.Config, env)
	if err != nil {
		var ve *config.ValidationError
		if errors.As(err, &ve) {
			fmt.Fprintf(out, "%s: INVALID (%d errors)\n", c.Config, len(ve.Errors))
			for _, e := range ve.Errors {
				fmt.Fprintf(out, "  %s\n", e)
			}
			return &ExitError{Code: 1}
		}
		fmt.Fprintf(out, "%s: INVALID\n  %s\n", c.Config, err)
		return &ExitError{Code: 1}
	}
	if _, err := webauth.LoadWebConfig(c.WebConfigFile); err != nil {
		fmt.Fprintf(out, "%s: INVALID\n  %s\n", c.WebConfigFile, err)
		return &ExitError{Code: 1}
	}
	fmt.Fprintf(out, "%s: OK\n", c.Config)
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(out, "  warning: %s\n", w)
	}
	return nil
}
