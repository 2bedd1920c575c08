package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/driftd/driftd/awssim"
	"github.com/driftd/driftd/collectors/baselines/publish"
)

type simCmd struct {
	Listen            string        `help:"Address to listen on." default:"127.0.0.1:4566"`
	Scenario          string        `help:"Scenario file (YAML or JSON), 'demo' for the built-in demo fleet, or 'none' for an empty region." default:"demo"`
	ManualClock       bool          `help:"Freeze time; advance it with POST /_awssim/clock/advance?by=5m."`
	LaunchDelay       time.Duration `help:"Time from launch to InService." default:"30s"`
	InventoryDelay    time.Duration `help:"Time from InService to the first inventory report." default:"2m"`
	InventoryInterval time.Duration `help:"Inventory collection period (advances CaptureTime)." default:"30m"`
	Seed              uint64        `help:"Seed for generated ids and random faults." default:"1"`
	AWSRateLimits     bool          `name:"aws-rate-limits" help:"Throttle EC2 like AWS does (published per-account token buckets)."`
}

func init() {
	register("sim", "Run a simulated AWS region (EC2, Auto Scaling, SSM) for demos and tests.", &simCmd{})
}

func (c *simCmd) Run() error {
	opts := awssim.Options{LaunchDelay: c.LaunchDelay, InventoryDelay: c.InventoryDelay, InventoryInterval: c.InventoryInterval, Seed: c.Seed}
	if c.ManualClock {
		opts.Clock = awssim.NewManualClock(time.Now().UTC().Truncate(time.Second))
	}
	sim := awssim.New(opts)
	var demo *awssim.Scenario
	switch c.Scenario {
	case "none", "":
	case "demo":
		demo = awssim.DemoScenario()
		if err := sim.LoadScenario(demo); err != nil {
			return &ExitError{Code: 2, Err: fmt.Errorf("loading the demo scenario: %w", err)}
		}
	default:
		if err := sim.LoadScenarioFile(c.Scenario); err != nil {
			return &ExitError{Code: 2, Err: fmt.Errorf("loading scenario: %w", err)}
		}
	}
	if c.AWSRateLimits {
		sim.AWSRateLimits()
	}
	srv, err := sim.Start(c.Listen)
	if err != nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("listen %s: %w", c.Listen, err)}
	}
	fmt.Printf("awssim: simulated AWS region listening on %s\n", srv.URL)
	fmt.Printf("awssim: fleet: %s\n", sim.Summary())
	if demo != nil {
		// The demo's golden baselines, published where `driftd demo`
		// publishes them: examples/sim.yaml reads them.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		region, err := seedDemoRegion(ctx, sim, demo, srv.URL)
		cancel()
		if err != nil {
			srv.Close()
			return &ExitError{Code: 2, Err: err}
		}
		fmt.Printf("awssim: baselines: %d in s3://%s/, %d in SSM parameters %s (as driftd demo publishes them; examples/sim.yaml reads them)\n",
			len(region.seed.Objects), demoBucket, len(region.seed.Parameters), publish.DemoParameterTemplate)
	}
	fmt.Printf("awssim: point AWS tooling at it with:\n  export AWS_ENDPOINT_URL=%s AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=sim AWS_SECRET_ACCESS_KEY=sim\n", srv.URL)
	fmt.Printf("awssim: control API: %s/_awssim/ (summary, instances, scenario, inject, faults, calls, clock/advance)\n", srv.URL)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	fmt.Println("awssim: shutting down")
	return srv.Close()
}
