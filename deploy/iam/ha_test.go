package iam

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/driftd/driftd/internal/ha"
)

// TestHAPolicyMatchesLeaseCalls: driftd-ha.json grants exactly the DynamoDB
// calls internal/ha makes: the methods of its DynamoDB interface on one
// named table (no other table, index or stream, no wildcard), and the
// method of DynamoQuerier (the audit log's listing) on the table's audit
// index only.
func TestHAPolicyMatchesLeaseCalls(t *testing.T) {
	root := repoRoot(t)
	tableCalls := interfaceCalls(t, filepath.Join(root, "internal/ha/dynamo.go"), "DynamoDB")
	indexCalls := interfaceCalls(t, filepath.Join(root, "internal/ha/auditlist_dynamo.go"), "DynamoQuerier")
	p := mustLoad(t, filepath.Join(root, "deploy/iam/driftd-ha.json"))
	var onTable, onIndex []string
	for _, st := range p.Statement {
		if st.Effect != "Allow" {
			continue
		}
		for _, r := range st.Resource {
			if !strings.HasPrefix(r, "arn:aws:dynamodb:") || !strings.Contains(r, ":table/") || strings.Contains(r, "*:table/*") ||
				strings.HasSuffix(r, "*") || strings.Contains(r, "/stream/") {
				t.Errorf("resource %q: want one table's ARN or its audit index", r)
			}
			switch {
			case strings.HasSuffix(r, "/index/"+ha.AuditIndex):
				onIndex = append(onIndex, st.Action...)
			case strings.Contains(r, "/index/"):
				t.Errorf("resource %q: the only index driftd queries is %s", r, ha.AuditIndex)
			default:
				onTable = append(onTable, st.Action...)
			}
		}
	}
	sort.Strings(onTable)
	sort.Strings(onIndex)
	if strings.Join(onTable, " ") != strings.Join(tableCalls, " ") {
		t.Errorf("driftd-ha.json grants %v on the table; internal/ha calls %v", onTable, tableCalls)
	}
	if strings.Join(onIndex, " ") != strings.Join(indexCalls, " ") {
		t.Errorf("driftd-ha.json grants %v on the audit index; internal/ha calls %v", onIndex, indexCalls)
	}
}

// interfaceCalls returns the methods of the named interface in file as
// sorted "dynamodb:Method" actions.
func interfaceCalls(t *testing.T, file, name string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var calls []string
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != name {
			return true
		}
		for _, m := range ts.Type.(*ast.InterfaceType).Methods.List {
			for _, mn := range m.Names {
				calls = append(calls, "dynamodb:"+mn.Name)
			}
		}
		return false
	})
	if len(calls) == 0 {
		t.Fatalf("no %s interface in %s", name, file)
	}
	sort.Strings(calls)
	return calls
}
