package collectors

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// InventoryPageSize is ListInventoryEntries' maximum page size.
const InventoryPageSize = 50

// TypeData is one inventory type of one instance, as collected.
type TypeData struct {
	TypeName string
	// Present is false when the instance has never reported this type (no
	// CaptureTime).
	Present       bool
	CaptureTime   time.Time
	SchemaVersion string
	Entries       []map[string]string
	// Complete is true when every page has been read.
	Complete  bool
	nextToken string
	pages     int
}

// Inventory reads SSM inventory with ListInventoryEntries, paging manually
// (the API has no paginator). It is safe for concurrent use.
type Inventory struct {
	SSM SSMAPI
	// MaxPages bounds the pages read per instance and type (default 200).
	MaxPages int
}

// First reads the first page of one type: enough to learn the CaptureTime
// (an unchanged instance costs exactly this one call per type).
func (c *Inventory) First(ctx context.Context, instanceID, typeName string) (*TypeData, error) {
	out, err := c.SSM.ListInventoryEntries(ctx, &ssm.ListInventoryEntriesInput{
		InstanceId: aws.String(instanceID), TypeName: aws.String(typeName), MaxResults: aws.Int32(InventoryPageSize),
	})
	if err != nil {
		if ErrorCode(err) == "InvalidTypeNameException" {
			return nil, &TypeUnavailableError{TypeName: typeName, Err: err}
		}
		return nil, fmt.Errorf("ListInventoryEntries %s page 1: %w", typeName, err)
	}
	td := &TypeData{TypeName: typeName, SchemaVersion: aws.ToString(out.SchemaVersion), pages: 1}
	if ct := aws.ToString(out.CaptureTime); ct != "" {
		t, err := ParseCaptureTime(ct)
		if err != nil {
			return nil, &InconsistentError{fmt.Sprintf("ListInventoryEntries %s: %v", typeName, err)}
		}
		td.Present, td.CaptureTime = true, t
	} else if len(out.Entries) > 0 {
		return nil, &InconsistentError{fmt.Sprintf("ListInventoryEntries %s: entries without a CaptureTime", typeName)}
	}
	td.Entries = out.Entries
	td.nextToken = aws.ToString(out.NextToken)
	td.Complete = td.nextToken == ""
	return td, nil
}

// Rest reads the remaining pages of a type started with First. Any error
// leaves td incomplete; callers must not judge an instance from it.
func (c *Inventory) Rest(ctx context.Context, instanceID string, td *TypeData) error {
	maxPages := c.MaxPages
	if maxPages <= 0 {
		maxPages = 200
	}
	for !td.Complete {
		if td.pages >= maxPages {
			return &InconsistentError{fmt.Sprintf("ListInventoryEntries %s: more than %d pages", td.TypeName, maxPages)}
		}
		token := td.nextToken
		out, err := c.SSM.ListInventoryEntries(ctx, &ssm.ListInventoryEntriesInput{
			InstanceId: aws.String(instanceID), TypeName: aws.String(td.TypeName),
			MaxResults: aws.Int32(InventoryPageSize), NextToken: aws.String(token),
		})
		td.pages++
		if err != nil {
			return fmt.Errorf("ListInventoryEntries %s page %d: %w", td.TypeName, td.pages, err)
		}
		ct := aws.ToString(out.CaptureTime)
		if ct == "" {
			return &InconsistentError{fmt.Sprintf("ListInventoryEntries %s page %d: CaptureTime missing (truncated page)", td.TypeName, td.pages)}
		}
		if t, err := ParseCaptureTime(ct); err != nil || !t.Equal(td.CaptureTime) {
			return &InconsistentError{fmt.Sprintf("ListInventoryEntries %s page %d: CaptureTime changed from %s to %s while paging (inventory updated mid-read)",
				td.TypeName, td.pages, td.CaptureTime.Format(time.RFC3339), ct)}
		}
		next := aws.ToString(out.NextToken)
		if next != "" && next == token {
			return &InconsistentError{fmt.Sprintf("ListInventoryEntries %s page %d: NextToken did not advance", td.TypeName, td.pages)}
		}
		if next != "" && len(out.Entries) == 0 {
			return &InconsistentError{fmt.Sprintf("ListInventoryEntries %s page %d: empty page with a NextToken (truncated page)", td.TypeName, td.pages)}
		}
		td.Entries = append(td.Entries, out.Entries...)
		td.nextToken = next
		td.Complete = next == ""
	}
	return nil
}

// ParseCaptureTime parses SSM's CaptureTime (RFC 3339, UTC, "Z").
func ParseCaptureTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad CaptureTime %q: %w", s, err)
	}
	return t.UTC(), nil
}

// TypeUnavailableError says the account does not know an inventory type:
// ListInventoryEntries answered InvalidTypeNameException. SSM answers it for
// every instance alike, so it is a fact about the account (a Custom:* type no
// instance has ever reported) or the configuration (a misspelt AWS:* type),
// never about one instance.
type TypeUnavailableError struct {
	TypeName string
	Err      error
}

func (e *TypeUnavailableError) Error() string { return e.Note() }

// Unwrap returns the SSM error.
func (e *TypeUnavailableError) Unwrap() error { return e.Err }

// Note explains the situation to the operator.
func (e *TypeUnavailableError) Note() string {
	if strings.HasPrefix(e.TypeName, "Custom:") {
		return fmt.Sprintf("inventory type %s is not defined in this account: no instance has ever reported it "+
			"(ListInventoryEntries: InvalidTypeNameException); not collected this scan", e.TypeName)
	}
	return fmt.Sprintf("inventory type %s was rejected by SSM (ListInventoryEntries: InvalidTypeNameException): "+
		"a configuration problem, check inventory.types; not collected this scan", e.TypeName)
}

// TypeGate learns once per scan whether the account knows each inventory
// type: the first answer for a type settles it (success: known;
// InvalidTypeNameException: unavailable), so a type the account does not
// know costs one call per scan, not one per instance. Until a type is
// settled, one caller at a time asks; the others wait for its answer. An
// answer that settles nothing (throttled, 5xx) only concerns its caller's
// instance, and the next caller asks. Safe for concurrent use; create one
// per scan.
type TypeGate struct {
	mu    sync.Mutex
	types map[string]*gateState
}

type gateState struct {
	known       bool
	unavailable *TypeUnavailableError
	probe       chan struct{} // non-nil while one call is settling the type
}

// Do runs call (one instance's first read of typeName) unless the type is
// already known to be unavailable, in which case it returns that
// *TypeUnavailableError without calling.
func (g *TypeGate) Do(ctx context.Context, typeName string, call func() (*TypeData, error)) (*TypeData, error) {
	for {
		g.mu.Lock()
		if g.types == nil {
			g.types = map[string]*gateState{}
		}
		st := g.types[typeName]
		if st == nil {
			st = &gateState{}
			g.types[typeName] = st
		}
		switch {
		case st.unavailable != nil:
			g.mu.Unlock()
			return nil, st.unavailable
		case st.known:
			g.mu.Unlock()
			return call()
		case st.probe != nil:
			ch := st.probe
			g.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		st.probe = make(chan struct{})
		g.mu.Unlock()
		td, err := call()
		g.mu.Lock()
		var tu *TypeUnavailableError
		switch {
		case err == nil:
			st.known = true
		case errors.As(err, &tu):
			st.unavailable = tu
		}
		close(st.probe)
		st.probe = nil
		g.mu.Unlock()
		return td, err
	}
}

// Settled returns, per type settled in this scan, whether it is
// unavailable.
func (g *TypeGate) Settled() map[string]bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]bool{}
	for t, st := range g.types {
		if st.known || st.unavailable != nil {
			out[t] = st.unavailable != nil
		}
	}
	return out
}

// Unavailable returns the types found unavailable, sorted by name.
func (g *TypeGate) Unavailable() []*TypeUnavailableError {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []*TypeUnavailableError
	for _, st := range g.types {
		if st.unavailable != nil {
			out = append(out, st.unavailable)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TypeName < out[j].TypeName })
	return out
}
