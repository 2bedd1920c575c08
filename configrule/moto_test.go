package configrule

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/driftd/driftd/drift"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/testenv/motoenv"
	"github.com/driftd/driftd/scan"
)

type countCalls struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (c *countCalls) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// TestEvaluatorAgainstMoto: the evaluator's round trip against moto in a
// fresh account, in test mode (moto 5.2.1 implements PutEvaluations only
// with TestMode): 250 verdicts in 3 calls, all accepted; a heal is one
// more call of one evaluation.
func TestEvaluatorAgainstMoto(t *testing.T) {
	u := motoenv.URL(t)
	ctx := context.Background()
	cfg, _ := motoenv.Account(t, ctx, u, "us-east-1")
	cc := &countCalls{next: http.DefaultTransport}
	client := configservice.NewFromConfig(cfg, func(o *configservice.Options) {
		o.BaseEndpoint = aws.String(u)
		o.RetryMaxAttempts = 1
		o.HTTPClient = &http.Client{Transport: cc}
	})
	m := NewMetrics(nil)
	e := New(&config.ConfigRule{ResultToken: "moto-test-mode", TestMode: true, RefreshInterval: 24 * time.Hour}, client,
		Options{Metrics: m, Now: func() time.Time { return t0 }})
	var ins []scan.InstanceResult
	for i := range 250 {
		v := drift.VerdictInSync
		if i%10 == 0 {
			v = drift.VerdictDrifted
		}
		ins = append(ins, inst(fmt.Sprintf("i-%04d", i), v, t0, pkg))
	}
	e.OnScan(ctx, result(t0, ins...))
	ins[0] = inst("i-0000", drift.VerdictInSync, t0.Add(time.Hour))
	e.OnScan(ctx, result(t0.Add(time.Hour), ins...))
	sent, failed := testutil.ToFloat64(m.Evaluations.WithLabelValues("sent")), testutil.ToFloat64(m.Evaluations.WithLabelValues("failed"))
	if cc.n.Load() != 4 || sent != 251 || failed != 0 {
		t.Fatalf("calls %d, sent %v, failed %v; want 4, 251, 0", cc.n.Load(), sent, failed)
	}
	t.Logf("moto round trip: %d PutEvaluations calls, %v evaluations accepted, %v failed", cc.n.Load(), sent, failed)
}
