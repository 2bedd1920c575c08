package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// Env is what Check consults outside the configuration file. OSEnv returns
// the real one; tests substitute maps and fakes.
type Env struct {
	Getenv   func(string) string
	ReadFile func(string) ([]byte, error)
	Stat     func(string) (fs.FileInfo, error)
	// ResolveTCP resolves http.listen as net.Listen would (named ports,
	// host names).
	ResolveTCP func(addr string) error
	// ParseBaselineIndex, when set, parses a dir source's index file (the
	// format belongs to package collectors, which config cannot import).
	ParseBaselineIndex func(data []byte) error
	// LoadStateFile, when set, loads an existing state.file (the format
	// belongs to internal/state).
	LoadStateFile func(path string) error
}

// OSEnv is the process environment and file system. Its parser hooks are
// unset; internal/daemon's CheckEnv adds them.
func OSEnv() Env {
	return Env{
		Getenv:   os.Getenv,
		ReadFile: os.ReadFile,
		Stat:     os.Stat,
		ResolveTCP: func(addr string) error {
			_, err := net.ResolveTCPAddr("tcp", addr)
			return err
		},
	}
}

// Check runs the start-up checks that depend on the environment rather than
// on the file alone: alerting secrets (secret_env set, secret_file readable,
// neither empty), config_rule.result_token_env set, http.listen resolvable, baseline directories (and index
// files) present, an existing state file loadable (a missing one is
// created after the first scan). `driftd validate`, daemon start and every reload run
// exactly this, after Load (which validates the file itself). Messages name
// the key and where a secret was looked for, never the secret.
func (c *Config) Check(env Env) []error {
	env = env.withDefaults()
	var errs errorList
	if err := env.ResolveTCP(c.HTTP.Listen); err != nil {
		errs.add("http.listen: %q: %v", c.HTTP.Listen, unwrapAddrErr(err))
	}
	for i, b := range c.Baselines {
		if b.Dir == nil || b.Dir.Path == "" {
			continue
		}
		key := fmt.Sprintf("baselines[%d].dir", i)
		st, err := env.Stat(b.Dir.Path)
		switch {
		case err != nil:
			errs.add("%s.path: %s: %v", key, b.Dir.Path, pathErr(err))
			continue
		case !st.IsDir():
			errs.add("%s.path: %s is not a directory", key, b.Dir.Path)
			continue
		}
		if b.Dir.Index == "" {
			continue
		}
		p := filepath.Join(b.Dir.Path, b.Dir.Index)
		data, err := env.ReadFile(p)
		if err != nil {
			errs.add("%s.index: %s: %v", key, p, pathErr(err))
		} else if env.ParseBaselineIndex != nil {
			if err := env.ParseBaselineIndex(data); err != nil {
				errs.add("%s.index: %s: %v", key, p, err)
			}
		}
	}
	if f := c.State.File; f != "" {
		if st, err := env.Stat(f); err == nil {
			if st.IsDir() {
				errs.add("state.file: %s is a directory", f)
			} else if env.LoadStateFile != nil {
				if err := env.LoadStateFile(f); err != nil {
					errs.add("state.file: %v", err)
				}
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			errs.add("state.file: %s: %v", f, pathErr(err))
		}
	}
	for i, s := range c.Alerting.Sinks {
		key := fmt.Sprintf("alerting.sinks[%d]", i)
		secret, where, err := readSinkSecret(s, env)
		if err != nil {
			errs.add("%s.%s", key, err)
			continue
		}
		if s.Type == SinkSlack && where != "" && !strings.HasPrefix(secret, "https://") && !strings.HasPrefix(secret, "http://") {
			errs.add("%s.%s: the Slack incoming-webhook URL it holds is not an http(s) URL", key, where)
		}
	}
	// The process environment cannot change under a running daemon: an unset
	// token variable would fail every send. A token file may appear later
	// (it is written per rule invocation) and is read before each send.
	if cr := c.ConfigRule; cr != nil && cr.ResultTokenEnv != "" && strings.TrimSpace(env.Getenv(cr.ResultTokenEnv)) == "" {
		errs.add("config_rule.result_token_env: environment variable %s is unset or empty", cr.ResultTokenEnv)
	}
	return errs
}

// readSinkSecret reads a sink's secret as the notifier does at start. where
// names the key it came from ("" when the sink reads none from outside).
func readSinkSecret(s AlertSink, env Env) (secret, where string, err error) {
	switch {
	case s.SecretFile != "":
		b, err := env.ReadFile(s.SecretFile)
		if err != nil {
			return "", "", fmt.Errorf("secret_file: %s: %v", s.SecretFile, pathErr(err))
		}
		if strings.TrimSpace(string(b)) == "" {
			return "", "", fmt.Errorf("secret_file: %s is empty", s.SecretFile)
		}
		return strings.TrimSpace(string(b)), "secret_file", nil
	case s.SecretEnv != "":
		v := strings.TrimSpace(env.Getenv(s.SecretEnv))
		if v == "" {
			return "", "", fmt.Errorf("secret_env: environment variable %s is unset or empty", s.SecretEnv)
		}
		return v, "secret_env", nil
	}
	return "", "", nil
}

func (e Env) withDefaults() Env {
	d := OSEnv()
	if e.Getenv == nil {
		e.Getenv = d.Getenv
	}
	if e.ReadFile == nil {
		e.ReadFile = d.ReadFile
	}
	if e.Stat == nil {
		e.Stat = d.Stat
	}
	if e.ResolveTCP == nil {
		e.ResolveTCP = d.ResolveTCP
	}
	return e
}

// pathErr drops the path an *fs.PathError repeats.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// unwrapAddrErr keeps the reason of a *net.AddrError / *net.DNSError.
func unwrapAddrErr(err error) string {
	var ae *net.AddrError
	if errors.As(err, &ae) {
		return ae.Err
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return "host " + de.Name + ": " + de.Err
	}
	return err.Error()
}

// LoadChecked is Load followed by Check: what `driftd validate`, daemon
// start and every reload run, so that a file validate calls OK never stops
// the daemon at start. Problems come back in one *ValidationError.
func LoadChecked(file string, env Env) (*Config, error) {
	c, err := Load(file)
	if err != nil {
		return nil, err
	}
	if errs := c.Check(env); len(errs) > 0 {
		return nil, &ValidationError{File: file, Errors: errs}
	}
	return c, nil
}
