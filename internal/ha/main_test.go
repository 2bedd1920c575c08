package ha

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/testenv/motoenv"
)

// TestMain starts one moto for the package's many conformance cases (each
// still isolates itself in an account of its own) unless DRIFTD_MOTO_URL
// names one; without moto, motoenv.URL skips or fails each case as usual.
func TestMain(m *testing.M) {
	flag.Parse()
	if os.Getenv("DRIFTD_MOTO_URL") != "" || testing.Short() {
		os.Exit(m.Run())
	}
	cmd := motoenv.Command()
	if cmd == nil {
		os.Exit(m.Run())
	}
	url, stop, err := startMoto(cmd)
	if err != nil {
		fmt.Fprintln(os.Stderr, "internal/ha tests: starting moto:", err)
		os.Exit(1)
	}
	os.Setenv("DRIFTD_MOTO_URL", url)
	code := m.Run()
	stop()
	os.Exit(code)
}

func startMoto(cmd []string) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	c := exec.Command(cmd[0], append(cmd[1:], "-H", "127.0.0.1", "-p", strconv.Itoa(port))...)
	if err := c.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { _ = c.Process.Kill(); _ = c.Wait() }
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	for deadline := time.Now().Add(60 * time.Second); ; {
		resp, err := http.Get(url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return url, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("moto did not start on %s: %v", url, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
