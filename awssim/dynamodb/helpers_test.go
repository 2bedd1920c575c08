package dynamodb

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/driftd/driftd/awssim/wire"
)

// simClient serves a fresh Service over HTTP and returns an SDK client for it.
func simClient(t *testing.T, o Options) *ddb.Client {
	t.Helper()
	svc := New(o)
	// Classified as the simulator classifies it (wire.Parse).
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, perr := wire.Parse(r)
		if perr != nil {
			wire.WriteError(w, req, perr)
			return
		}
		svc.ServeAWS(w, req)
	}))
	t.Cleanup(srv.Close)
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKID", "secret", "")))
	if err != nil {
		t.Fatal(err)
	}
	return ddb.NewFromConfig(cfg, func(o *ddb.Options) { o.BaseEndpoint = aws.String(srv.URL) })
}
