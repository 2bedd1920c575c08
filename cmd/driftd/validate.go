package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/driftd/driftd/internal/config"
)

type validateCmd struct {
	Config string `help:"Configuration file to check." required:"" type:"path" short:"c"`
}

func init() {
	register("validate", "Check a configuration file and print every error (exit 0 when valid).", &validateCmd{})
}

func (c *validateCmd) Run() error { return c.run(os.Stdout) }

func (c *validateCmd) run(out io.Writer) error {
	if _, err := config.Load(c.Config); err != nil {
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
	fmt.Fprintf(out, "%s: OK\n", c.Config)
	return nil
}
