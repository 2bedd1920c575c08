package config

import (
	"net"
	"strconv"
	"strings"
	"time"
)

// HTTP is the `http:` section.
type HTTP struct {
	Listen            string        `yaml:"listen"` // default "127.0.0.1:9464"
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	Auth              HTTPAuth      `yaml:"auth"` // httpauth.go
}

// Log is the `log:` section.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error; default info
	Format string `yaml:"format"` // json (default), logfmt or console
}

// DefaultListen is the default http.listen address: loopback only, so a
// daemon is never reachable from the network unless configured to be.
const DefaultListen = "127.0.0.1:9464"

func (h *HTTP) applyDefaults() {
	if h.Listen == "" {
		h.Listen = DefaultListen
	}
	if h.ReadHeaderTimeout == 0 {
		h.ReadHeaderTimeout = 5 * time.Second
	}
	if h.ReadTimeout == 0 {
		h.ReadTimeout = 10 * time.Second
	}
	if h.WriteTimeout == 0 {
		h.WriteTimeout = 30 * time.Second
	}
	if h.IdleTimeout == 0 {
		h.IdleTimeout = 120 * time.Second
	}
}

// Validate checks the http section (after defaults). A numeric port must be
// 0-65535; a named port and a host name are resolved by Check.
func (h HTTP) Validate() []error {
	var errs errorList
	if h.Listen != "" {
		host, port, err := net.SplitHostPort(h.Listen)
		switch {
		case !strings.Contains(h.Listen, ":"):
			errs.add("http.listen: %q must be host:port or :port", h.Listen)
		case err != nil:
			errs.add("http.listen: %q must be host:port or :port (IPv6 hosts in brackets, [::1]:9464)", h.Listen)
		case port == "":
			errs.add("http.listen: %q has no port", h.Listen)
		case strings.ContainsAny(host, " /"):
			errs.add("http.listen: %q: %q is not a host name or address", h.Listen, host)
		default:
			if n, err := strconv.Atoi(port); err == nil && (n < 0 || n > 65535) {
				errs.add("http.listen: %q: port %d is out of range 0-65535", h.Listen, n)
			}
		}
	}
	for _, t := range []struct {
		name string
		d    time.Duration
	}{{"read_header_timeout", h.ReadHeaderTimeout}, {"read_timeout", h.ReadTimeout}, {"write_timeout", h.WriteTimeout}, {"idle_timeout", h.IdleTimeout}} {
		if t.d < 0 {
			errs.add("http.%s: must not be negative", t.name)
		} else if t.d == 0 {
			errs.add("http.%s: must be positive", t.name)
		}
	}
	return append(errs, h.Auth.Validate()...)
}

func (l *Log) applyDefaults() {
	if l.Level == "" {
		l.Level = "info"
	}
	if l.Format == "" {
		l.Format = "json"
	}
}

// Validate checks the log section.
func (l Log) Validate() []error {
	var errs errorList
	switch l.Level {
	case "debug", "info", "warn", "error":
	default:
		errs.add("log.level: %q is not one of debug, info, warn, error", l.Level)
	}
	switch l.Format {
	case "json", "logfmt", "console":
	default:
		errs.add("log.format: %q is not one of json, logfmt, console", l.Format)
	}
	return errs
}
