package iam

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestHAPolicyMatchesLeaseCalls: driftd-ha.json grants exactly the DynamoDB
// calls internal/ha makes (the methods of its DynamoDB interface), on one
// named table: no other table, index or stream, no wildcard.
func TestHAPolicyMatchesLeaseCalls(t *testing.T) {
	root := repoRoot(t)
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(root, "internal/ha/dynamo.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var calls []string
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "DynamoDB" {
			return true
		}
		for _, m := range ts.Type.(*ast.InterfaceType).Methods.List {
			for _, name := range m.Names {
				calls = append(calls, "dynamodb:"+name.Name)
			}
		}
		return false
	})
	if len(calls) == 0 {
		t.Fatal("no DynamoDB interface in internal/ha/dynamo.go")
	}
	sort.Strings(calls)
	p := mustLoad(t, filepath.Join(root, "deploy/iam/driftd-ha.json"))
	var granted []string
	for a := range p.Actions() {
		granted = append(granted, a)
	}
	sort.Strings(granted)
	if strings.Join(granted, " ") != strings.Join(calls, " ") {
		t.Errorf("driftd-ha.json grants %v; internal/ha calls %v", granted, calls)
	}
	for _, st := range p.Statement {
		if st.Effect != "Allow" {
			continue
		}
		for _, r := range st.Resource {
			if !strings.HasPrefix(r, "arn:aws:dynamodb:") || !strings.Contains(r, ":table/") || strings.HasSuffix(r, "*") || strings.Contains(r, "/index/") || strings.Contains(r, "/stream/") {
				t.Errorf("resource %q: want one table's ARN", r)
			}
		}
	}
}
