package release

import (
	"debug/buildinfo"
	"debug/elf"
	"fmt"
)

// machines are the ELF machines of the release targets.
var machines = map[Target]elf.Machine{
	{"linux", "amd64"}: elf.EM_X86_64,
	{"linux", "arm64"}: elf.EM_AARCH64,
}

// CheckBinary verifies that path is what a release ships for t: a static
// ELF executable for t's machine (no interpreter, no dynamic section) whose
// Go build settings say cgo was off, paths were trimmed and the platform
// was t.
func CheckBinary(path string, t Target) error {
	want, ok := machines[t]
	if !ok {
		return fmt.Errorf("%s: no release target %s", path, t)
	}
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	if f.Machine != want {
		return fmt.Errorf("%s: ELF machine %v, want %v for %s", path, f.Machine, want, t)
	}
	if f.Type != elf.ET_EXEC {
		return fmt.Errorf("%s: ELF type %v, want a static executable (ET_EXEC)", path, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			return fmt.Errorf("%s: program header %v: not a static binary", path, p.Type)
		}
	}
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s: Go build info: %w", path, err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	for k, v := range map[string]string{"CGO_ENABLED": "0", "-trimpath": "true", "GOOS": t.GOOS, "GOARCH": t.GOARCH} {
		if settings[k] != v {
			return fmt.Errorf("%s: built with %s=%q, want %q", path, k, settings[k], v)
		}
	}
	return nil
}
