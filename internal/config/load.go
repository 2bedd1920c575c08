package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize caps a configuration file (1 MiB): a real configuration is a
// few kilobytes, and the cap bounds what a mistaken path (a log, a binary)
// can cost to read and parse.
const MaxFileSize = 1 << 20

// Load reads, strictly decodes, defaults and validates a configuration file.
// Every problem comes back together in a *ValidationError naming the file.
func Load(file string) (*Config, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	f.Close()
	if err != nil {
		return nil, err
	}
	c, err := Parse(data)
	if err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			ve.File = file
			return nil, ve
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	base, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		return nil, err
	}
	c.Baselines.resolvePaths(base)
	return c, nil
}

// Parse decodes one YAML document, applies defaults and validates. Unknown
// keys, duplicate keys, values of the wrong type, a second document and
// every validation problem are reported together in a *ValidationError
// (decoding problems first, in file order, with their line). Only input
// that is not YAML at all, or is over MaxFileSize, is a plain error.
func Parse(data []byte) (*Config, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("the configuration is larger than %d bytes (1 MiB); is this the right file?", MaxFileSize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("decoding YAML: %w", err)
	}
	var errs []error
	var dropped map[string]bool
	c := &Config{}
	if len(doc.Content) > 0 {
		var fe []*FieldError
		fe, dropped = checkTree(doc.Content[0], reflect.TypeOf(c).Elem())
		for _, e := range fe {
			errs = append(errs, e)
		}
		// The tree is repaired (offending pairs removed, wrong values
		// nulled): whatever the decoder still refuses is reported as is.
		if dropped[""] {
			// Not a mapping, or too big to walk: nothing to decode.
		} else if err := doc.Decode(c); err != nil {
			errs = append(errs, decoderErrors(err, fe)...)
		}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		errs = append(errs, &FieldError{Line: extra.Line, Msg: "a second YAML document starts here; the configuration is one document"})
	} else if !errors.Is(err, io.EOF) {
		errs = append(errs, fmt.Errorf("decoding YAML after the first document: %w", err))
	}
	c.applyDefaults()
	for _, err := range c.Validate() {
		if !underDropped(err, dropped) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, &ValidationError{Errors: errs}
	}
	return c, nil
}

// decoderErrors turns what the decoder reports after the repair into errors,
// leaving out lines already reported by the tree check.
func decoderErrors(err error, reported []*FieldError) []error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return []error{fmt.Errorf("decoding YAML: %w", err)}
	}
	lines := map[string]bool{}
	for _, e := range reported {
		lines[fmt.Sprintf("line %d", e.Line)] = true
	}
	var out []error
	for _, m := range te.Errors {
		if l, _, ok := strings.Cut(m, ": "); ok && lines[l] {
			continue
		}
		out = append(out, errors.New("decoding YAML: "+m))
	}
	return out
}

// underDropped reports whether a validation message is about a key whose
// value was dropped for having the wrong type (already reported).
func underDropped(err error, dropped map[string]bool) bool {
	if len(dropped) == 0 {
		return false
	}
	if dropped[""] {
		return true // the document itself was not a mapping: nothing decoded
	}
	path, _, ok := strings.Cut(err.Error(), ": ")
	if !ok {
		return false
	}
	for p := range dropped {
		if path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[") {
			return true
		}
	}
	return false
}
