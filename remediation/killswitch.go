package remediation

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/driftd/driftd/internal/config"
)

// KillSwitchReader evaluates the kill switch's sources: the config flag,
// the file, the SSM parameter. Any engaged source engages it; a source that
// cannot be read engages it (fail closed).
type KillSwitchReader struct {
	SSM SSMAPI // nil disables the SSM source
	// Stat defaults to os.Stat.
	Stat func(string) (fs.FileInfo, error)
}

// Read evaluates the switch for the given configuration.
func (k *KillSwitchReader) Read(ctx context.Context, c config.Remediation) KillSwitch {
	if c.KillSwitch.Enabled {
		return KillSwitch{Engaged: true, Source: "config", Detail: "remediation.kill_switch.enabled is true"}
	}
	if f := c.KillSwitch.File; f != nil && *f != "" {
		stat := k.Stat
		if stat == nil {
			stat = os.Stat
		}
		_, err := stat(*f)
		switch {
		case err == nil:
			return KillSwitch{Engaged: true, Source: "file", Detail: *f + " exists"}
		case !errors.Is(err, fs.ErrNotExist):
			return KillSwitch{Engaged: true, Source: "file", Detail: fmt.Sprintf("cannot check %s: %v", *f, err)}
		}
	}
	if p := c.KillSwitch.SSMParameter; p != nil && *p != "" && k.SSM != nil {
		resp, err := k.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(*p)})
		var nf *ssmtypes.ParameterNotFound
		switch {
		case errors.As(err, &nf):
			// No parameter: this source is released.
		case err != nil:
			return KillSwitch{Engaged: true, Source: "ssm", Detail: fmt.Sprintf("cannot read %s (fail closed): %v", *p, err)}
		default:
			v := ""
			if resp.Parameter != nil {
				v = aws.ToString(resp.Parameter.Value)
			}
			if engaged, known := parseSwitchValue(v); engaged || !known {
				d := fmt.Sprintf("%s = %q", *p, v)
				if !known {
					d += " is not a recognised value (fail closed)"
				}
				return KillSwitch{Engaged: true, Source: "ssm", Detail: d}
			}
		}
	}
	return KillSwitch{}
}

// parseSwitchValue: true/on/1/yes/engaged/stop engage; false/off/0/no/released/"" release.
func parseSwitchValue(v string) (engaged, known bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "on", "1", "yes", "engaged", "stop":
		return true, true
	case "false", "off", "0", "no", "released", "":
		return false, true
	}
	return true, false
}
