package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/driftd/driftd/alerting"
)

// demoReceiver is the demo's local webhook endpoint: it verifies each
// delivery's signature as a real receiver must (alerting.Verify) and hands
// the events to the printer.
type demoReceiver struct {
	secret  []byte
	file    string // secret_file for the sink
	ln      net.Listener
	srv     *http.Server
	onEvent func(alerting.Event)
	onError func(error)
}

// startDemoReceiver listens on 127.0.0.1:0 and writes a fresh secret to a
// file in dir.
func startDemoReceiver(dir string, onEvent func(alerting.Event), onError func(error)) (*demoReceiver, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	r := &demoReceiver{secret: []byte(hex.EncodeToString(raw)), file: filepath.Join(dir, "webhook-secret"), onEvent: onEvent, onError: onError}
	if err := os.WriteFile(r.file, r.secret, 0o600); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r.ln = ln
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go r.srv.Serve(ln) //nolint:errcheck // ends with Close
	return r, nil
}

// URL is where the demo's webhook sink posts.
func (r *demoReceiver) URL() string { return "http://" + r.ln.Addr().String() + "/driftd" }

func (r *demoReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 4<<20))
	if err != nil {
		http.Error(w, "reading body", http.StatusBadRequest)
		return
	}
	if err := alerting.Verify(r.secret, req.Header.Get(alerting.HeaderTimestamp), req.Header.Get(alerting.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
		r.onError(errors.New("webhook rejected: " + err.Error()))
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var b alerting.Batch
	if err := json.Unmarshal(body, &b); err != nil {
		r.onError(errors.New("webhook: " + err.Error()))
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	for _, ev := range b.Events() {
		r.onEvent(ev)
	}
	w.WriteHeader(http.StatusNoContent)
}

// Close stops the receiver.
func (r *demoReceiver) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return r.srv.Shutdown(ctx)
}
