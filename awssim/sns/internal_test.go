package sns

import "testing"

func FuzzFilterPolicy(f *testing.F) {
	f.Add(`{"event_type":["drift.resolved"],"asg":[{"prefix":"we"}],"n":[3]}`, "drift.resolved")
	f.Add(`{"a":[{"anything-but":["x","y"]},{"exists":false}]}`, "z")
	f.Add(`{"a":[]}`, "")
	f.Fuzz(func(t *testing.T, policy, value string) {
		fp, err := parseFilterPolicy(policy)
		if err != nil {
			return
		}
		// evaluating never panics, with and without the attribute
		_ = fp.matches(map[string]Attribute{"a": {DataType: "String", StringValue: value}, "n": {DataType: "Number", StringValue: value}})
		_ = fp.matches(nil)
	})
}
