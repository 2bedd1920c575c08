package daemon

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/driftd/driftd/internal/config"
)

// TestServesTLSFromWebConfig: with a web configuration file naming a
// certificate, the daemon's listener speaks TLS (and plain HTTP gets no
// answer from the API), and its security headers are set.
func TestServesTLSFromWebConfig(t *testing.T) {
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "driftd"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	kb, _ := x509.MarshalECPrivateKey(key)
	must(t, os.WriteFile(filepath.Join(dir, "crt.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
	web := filepath.Join(dir, "web.yml")
	must(t, os.WriteFile(web, []byte("tls_server_config: {cert_file: crt.pem, key_file: key.pem}\nhttp_server_config: {headers: {X-Frame-Options: deny}}\n"), 0o600))

	c := config.Default()
	c.Baselines = config.Baselines{{Name: "local", Dir: &config.DirBaseline{Path: dir}}}
	b, err := New(context.Background(), Options{Config: c, Logger: zap.NewNop(), Registry: prometheus.NewRegistry(),
		AWS: &aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}})
	must(t, err)
	must(t, b.SetWeb(WebOptions{ConfigFile: web}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	srv := &http.Server{Handler: b.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = b.serve(srv, ln) }()
	defer srv.Close()

	pool := x509.NewCertPool()
	cert, _ := x509.ParseCertificate(der)
	pool.AddCert(cert)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	resp, err := client.Get("https://" + ln.Addr().String() + "/-/healthy")
	must(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "OK\n" || resp.Header.Get("X-Frame-Options") != "deny" || resp.TLS == nil {
		t.Fatalf("https /-/healthy: %d %q headers %v", resp.StatusCode, body, resp.Header)
	}
	plain, err := http.Get("http://" + ln.Addr().String() + "/-/healthy")
	if err == nil {
		plain.Body.Close()
		if plain.StatusCode == 200 {
			t.Error("plain HTTP answered on a TLS listener")
		}
	}
}

// A web configuration file that does not validate stops the start.
func TestBadWebConfigStopsStart(t *testing.T) {
	dir := t.TempDir()
	c := config.Default()
	c.Baselines = config.Baselines{{Name: "local", Dir: &config.DirBaseline{Path: dir}}}
	for name, content := range map[string]string{
		"unknown key":    "tls_server_config: {cert_fil: x}\n",
		"missing cert":   "tls_server_config: {cert_file: none.pem, key_file: none.pem}\n",
		"not bcrypt":     "basic_auth_users: {alice: plaintext}\n",
		"bad header":     "http_server_config: {headers: {X-Frame-Options: allow}}\n",
		"role, no users": "",
	} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(dir, "web.yml")
			must(t, os.WriteFile(file, []byte(content), 0o600))
			cc := *c
			if name == "role, no users" {
				cc.HTTP.Auth.BasicAuthRoles = map[string]string{"alice": "operator"}
			}
			a, err := New(context.Background(), Options{Config: &cc, Logger: zap.NewNop(), Registry: prometheus.NewRegistry(),
				AWS: &aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}})
			must(t, err)
			if err := a.SetWeb(WebOptions{ConfigFile: file}); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
