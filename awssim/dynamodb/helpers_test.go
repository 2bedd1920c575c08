package dynamodb

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
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
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		prefix, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
		body, _ := io.ReadAll(r.Body)
		req := &wire.Request{Protocol: wire.JSON10, Service: "dynamodb", Op: op, Body: body, HTTP: r, ID: wire.NewRequestID()}
		if prefix != TargetPrefix {
			op = ""
			req.Op = "-"
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
