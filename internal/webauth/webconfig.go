package webauth

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"

	"github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v2"
)

// WebConfig is a --web.config.file in the Prometheus exporter-toolkit
// format (https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md):
// tls_server_config, http_server_config (http2, headers), rate_limit and
// basic_auth_users (bcrypt hashes). The file is checked with the
// toolkit's own validator and TLS is built by its ConfigToTLSConfig;
// driftd adds roles on top (http.auth in driftd's configuration).
type WebConfig struct {
	Path    string
	TLS     *tls.Config       // nil: plain HTTP
	HTTP2   bool              // http_server_config.http2 (default true)
	Headers map[string]string // http_server_config.headers, set on every answer
	Users   map[string]string // basic_auth_users: user → bcrypt hash
	Limit   web.RateLimiterConfig
}

// parseWebConfig decodes the file as the toolkit does (same defaults,
// strict keys, paths relative to the file's directory).
func parseWebConfig(path string) (*web.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c := &web.Config{
		TLSConfig:  web.TLSConfig{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13, PreferServerCipherSuites: true},
		HTTPConfig: web.HTTPConfig{HTTP2: true},
	}
	if err := yaml.UnmarshalStrict(data, c); err != nil {
		return nil, err
	}
	c.TLSConfig.SetDirectory(filepath.Dir(path))
	return c, nil
}

// LoadWebConfig reads and checks a web configuration file ("" : none,
// plain HTTP without basic-auth users). TLS certificates are read again
// on every new connection, so they can be rotated without a restart.
func LoadWebConfig(path string) (*WebConfig, error) {
	if path == "" {
		return &WebConfig{}, nil
	}
	if err := web.Validate(path); err != nil {
		return nil, fmt.Errorf("--web.config.file %s: %w", path, err)
	}
	c, err := parseWebConfig(path)
	if err != nil {
		return nil, fmt.Errorf("--web.config.file %s: %w", path, err)
	}
	w := &WebConfig{Path: path, HTTP2: c.HTTPConfig.HTTP2, Headers: c.HTTPConfig.Header, Limit: c.RateLimiterConfig, Users: map[string]string{}}
	for u, h := range c.Users {
		w.Users[u] = string(h)
	}
	if !c.TLSConfig.IsEnabled() {
		return w, nil
	}
	t, err := web.ConfigToTLSConfig(&c.TLSConfig)
	if err != nil {
		return nil, fmt.Errorf("--web.config.file %s: %w", path, err)
	}
	t.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		c, err := parseWebConfig(path)
		if err != nil {
			return nil, err
		}
		t, err := web.ConfigToTLSConfig(&c.TLSConfig)
		if err != nil {
			return nil, err
		}
		t.NextProtos = nextProtos(w.HTTP2)
		return t, nil
	}
	t.NextProtos = nextProtos(w.HTTP2)
	w.TLS = t
	return w, nil
}

func nextProtos(h2 bool) []string {
	if h2 {
		return []string{"h2", "http/1.1"}
	}
	return []string{"http/1.1"}
}
