package collectors

import (
	"context"
	"fmt"
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
