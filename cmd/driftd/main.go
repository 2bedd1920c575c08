// Command driftd detects configuration drift of EC2 instances against the
// baseline manifest of the AMI they were launched from, and acts on it.
//
// Subcommands live in their own files and register themselves with
// register() from init(), so each owner edits only its file.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/alecthomas/kong"
)

// ExitError carries a process exit code (scan: 1 = drift found, 2 = error,
// 3 = some instances not checked and no drift).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Globals are flags shared by every subcommand. Flag names follow the
// Prometheus components' (--log.level, --log.format, --config.file,
// --web.listen-address); the older spellings stay as aliases (flags.go).
type Globals struct {
	LogLevel  string      `name:"log.level" aliases:"log-level" help:"Log level: debug, info, warn, error (overrides log.level of the configuration)." default:"" env:"DRIFTD_LOG_LEVEL" placeholder:"LEVEL"`
	LogFormat string      `name:"log.format" aliases:"log-format" help:"Log format: logfmt, json or console (overrides log.format of the configuration)." default:"" env:"DRIFTD_LOG_FORMAT" placeholder:"FORMAT"`
	Version   versionFlag `help:"Print the version and build info, and exit."`
}

var commands []kong.Option

// register adds a subcommand; call it from init().
func register(name, help string, cmd any) {
	commands = append(commands, kong.DynamicCommand(name, help, "", cmd))
}

func main() { os.Exit(run(os.Args[1:])) }

// newParser builds the command line: globals, every registered subcommand,
// and the conventional flag names.
func newParser(globals *Globals) (*kong.Kong, error) {
	return kong.New(globals, append([]kong.Option{
		kong.Name("driftd"),
		kong.Description("Configuration-drift daemon for immutable EC2 fleets."),
		kong.UsageOnError(),
		kong.Bind(globals),
		conventionalFlags(),
	}, commands...)...)
}

func run(args []string) int {
	var globals Globals
	parser, err := newParser(&globals)
	if err != nil {
		fmt.Fprintln(os.Stderr, "driftd:", err)
		return 2
	}
	ctx, err := parser.Parse(args)
	if errors.Is(err, errVersionShown) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "driftd:", err)
		return 2
	}
	if err := ctx.Run(&globals); err != nil {
		var ee *ExitError
		if errors.As(err, &ee) {
			if ee.Err != nil {
				fmt.Fprintln(os.Stderr, "driftd:", ee.Err)
			}
			return ee.Code
		}
		fmt.Fprintln(os.Stderr, "driftd:", err)
		return 2
	}
	return 0
}
