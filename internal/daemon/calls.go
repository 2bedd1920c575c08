package daemon

import (
	"sync"

	"github.com/driftd/driftd/scan"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/driftd/driftd/collectors"
)

// Clients are the AWS clients of one configuration.
type Clients struct {
	EC2         collectors.EC2API
	AutoScaling collectors.AutoScalingAPI
	SSM         collectors.SSMAPI
	// AWS is the loaded SDK configuration (region, credentials, endpoint),
	// for other engines to build their own clients with the same middleware.
	AWS aws.Config
}

// apiCalls counts API call attempts by service/operation/code, for the
// per-scan summary (the Prometheus counter is cumulative).
type apiCalls struct {
	mu sync.Mutex
	n  map[callKey]int
}

type callKey struct{ Service, Operation, Code string }

func (c *apiCalls) add(k callKey) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[callKey]int{}
	}
	c.n[k]++
	c.mu.Unlock()
}

func (c *apiCalls) snapshot() map[callKey]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[callKey]int, len(c.n))
	for k, v := range c.n {
		m[k] = v
	}
	return m
}

func diffCalls(before, after map[callKey]int) scan.APICallStats {
	s := scan.APICallStats{ByOperation: map[string]int{}}
	for k, v := range after {
		d := v - before[k]
		if d <= 0 {
			continue
		}
		s.Total += d
		s.ByOperation[k.Service+":"+k.Operation] += d
		if k.Code != "OK" {
			if s.Errors == nil {
				s.Errors = map[string]int{}
			}
			s.Errors[k.Service+":"+k.Operation+":"+k.Code] += d
		}
	}
	return s
}
