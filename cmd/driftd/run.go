package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/daemon"
)

// progressLogEvery is how often driftd run logs a running scan's progress.
const progressLogEvery = 10 * time.Second

type runCmd struct {
	WebListenAddress string `name:"web.listen-address" help:"Address for /metrics, the API and the page; overrides http.listen of the configuration." placeholder:"ADDR"`

	Config      string `help:"Configuration file." required:"" type:"path" short:"c"`
	ConfigCheck bool   `name:"config.check" help:"Check the configuration as at start (same as driftd validate), print the result and exit."`
	// Web flags as Prometheus names them (docs/security.md).
	WebConfigFile   string `name:"web.config.file" help:"Web configuration file (Prometheus exporter-toolkit format): TLS, client certificates, basic-auth users." type:"path" placeholder:"FILE"`
	EnableLifecycle bool   `name:"web.enable-lifecycle" help:"Enable POST /-/reload (operators only)."`
}

func init() {
	register("run", "Run the daemon: scheduled scans, /metrics and the HTTP API.", &runCmd{})
}

// logger builds the root logger from the config, overridden by the global flags.
func logger(g *Globals, c *config.Config) (*zap.Logger, error) {
	level, format := "info", "json"
	if c != nil {
		level, format = c.Log.Level, c.Log.Format
	}
	if g != nil && g.LogLevel != "" {
		level = g.LogLevel
	}
	if g != nil && g.LogFormat != "" {
		format = g.LogFormat
	}
	return daemon.NewLogger(level, format)
}

func (c *runCmd) Run(g *Globals) error {
	if c.ConfigCheck {
		return (&validateCmd{Config: c.Config, WebConfigFile: c.WebConfigFile}).run(os.Stdout)
	}
	cfg, err := config.Load(c.Config)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	log, err := logger(g, cfg)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	defer log.Sync() //nolint:errcheck
	// Alerting logs its own warnings when it builds its sinks.
	for _, w := range cfg.Schedule.Warnings() {
		log.Warn(w)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	a, err := daemon.New(ctx, daemon.Options{ConfigFile: c.Config, Logger: log, ProgressLog: progressLogEvery, ListenAddress: c.WebListenAddress})
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	if err := a.SetWeb(daemon.WebOptions{ConfigFile: c.WebConfigFile, EnableLifecycle: c.EnableLifecycle}); err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	// Notifications and remediation act on every scan (scan.Observer);
	// see docs/daemon.md.
	eng, err := a.AttachEngines(log)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	if err := mountPage(a, eng.Remediation); err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	defer func() {
		// Deliver notifications still queued, within a bound.
		flush, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := eng.Close(flush); err != nil {
			log.Warn("notifications not flushed on shutdown", zap.Error(err))
		}
	}()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-hup:
				_ = a.Reload(ctx) // logged and counted by Reload
			case <-ctx.Done():
				return
			}
		}
	}()
	if err := a.Run(ctx, nil); err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	return nil
}
