package fleet

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"
	"sync"
)

// Inventory type names the simulator knows about. Custom:* names are accepted
// as well (any type beginning with "Custom:").
const (
	TypeApplication  = "AWS:Application"
	TypeFile         = "AWS:File"
	TypeInstanceInfo = "AWS:InstanceInformation"
	TypePatchSummary = "AWS:PatchSummary"
	TypeFileDigest   = "Custom:FileDigest"
	TypeSystemdUnit  = "Custom:SystemdUnit"
)

// Schema versions of the inventory types: AWS:Application's is 1.1, the
// others' 1.0.
const (
	SchemaApplication = "1.1"
	SchemaDefault     = "1.0"
)

// knownAWSTypes are the AWS-defined inventory types ListInventoryEntries accepts.
var knownAWSTypes = map[string]bool{
	"AWS:Application": true, "AWS:AWSComponent": true, "AWS:File": true, "AWS:Network": true,
	"AWS:InstanceDetailedInformation": true, "AWS:Service": true, "AWS:WindowsUpdate": true,
	"AWS:WindowsRole": true, "AWS:WindowsRegistry": true, "AWS:BillingInfo": true, "AWS:Tag": true,
	"AWS:ResourceGroup": true, "AWS:ComplianceItem": true, "AWS:ComplianceSummary": true,
	"AWS:PatchSummary": true, "AWS:PatchCompliance": true, "AWS:InstanceInformation": true,
}

func ValidTypeName(t string) bool {
	if knownAWSTypes[t] {
		return true
	}
	return strings.HasPrefix(t, "Custom:") && len(t) > len("Custom:") && len(t) <= 100
}

// Entry is one inventory item: attribute name → string value (SSM content maps
// only hold strings).
type Entry = map[string]string

// TypeData is the content of one inventory type: immutable once built, so it
// can be shared by every instance launched from the same AMI. Rendered pages
// are cached on it.
type TypeData struct {
	TypeName      string
	SchemaVersion string
	Entries       []Entry // sorted by entryKey
	keys          []string
	index         map[string]int

	hashOnce sync.Once
	hash     string

	pageMu sync.RWMutex
	pages  map[int][][]byte // page size → rendered JSON arrays
}

// entryKey identifies an entry within its type, so overlays can add, remove
// or replace individual entries.
func entryKey(typeName string, e Entry) string {
	switch typeName {
	case TypeFile:
		return e["InstalledDir"] + "/" + e["Name"]
	case TypeFileDigest:
		return e["Path"]
	case TypeWindowsUpdate:
		return e["HotFixId"]
	}
	if n, ok := e["Name"]; ok {
		if a := e["Architecture"]; a != "" && typeName == TypeApplication {
			return n + "." + a
		}
		return n
	}
	if p, ok := e["Path"]; ok {
		return p
	}
	b, _ := json.Marshal(e)
	return string(b)
}

// NewTypeData builds type content from entries (copied and sorted).
func NewTypeData(typeName, schemaVersion string, entries []Entry) *TypeData {
	if schemaVersion == "" {
		schemaVersion = SchemaDefault
		if typeName == TypeApplication {
			schemaVersion = SchemaApplication
		}
	}
	td := &TypeData{TypeName: typeName, SchemaVersion: schemaVersion, index: make(map[string]int, len(entries))}
	type kv struct {
		k string
		e Entry
	}
	tmp := make([]kv, 0, len(entries))
	seen := make(map[string]int, len(entries))
	for _, e := range entries {
		k := entryKey(typeName, e)
		if i, dup := seen[k]; dup { // last one wins
			tmp[i].e = e
			continue
		}
		seen[k] = len(tmp)
		tmp = append(tmp, kv{k, e})
	}
	sort.Slice(tmp, func(i, j int) bool { return tmp[i].k < tmp[j].k })
	td.Entries = make([]Entry, len(tmp))
	td.keys = make([]string, len(tmp))
	for i, x := range tmp {
		td.Entries[i], td.keys[i] = x.e, x.k
		td.index[x.k] = i
	}
	return td
}

// Get returns the entry with key k.
func (td *TypeData) Get(k string) (Entry, bool) {
	if td == nil {
		return nil, false
	}
	i, ok := td.index[k]
	if !ok {
		return nil, false
	}
	return td.Entries[i], true
}

// ContentHash is the MD5 of the type's content, as SSM reports it.
func (td *TypeData) ContentHash() string {
	td.hashOnce.Do(func() {
		b, _ := json.Marshal(td.Entries)
		s := md5.Sum(b)
		td.hash = hex.EncodeToString(s[:])
	})
	return td.hash
}

// page returns the rendered JSON array for page number n of size size, and
// whether more pages follow.
func (td *TypeData) Page(size, n int) ([]byte, bool) {
	td.pageMu.RLock()
	pages, ok := td.pages[size]
	td.pageMu.RUnlock()
	if !ok {
		td.pageMu.Lock()
		if pages, ok = td.pages[size]; !ok {
			np := (len(td.Entries) + size - 1) / size
			pages = make([][]byte, np)
			for i := range pages {
				end := min((i+1)*size, len(td.Entries))
				pages[i], _ = json.Marshal(td.Entries[i*size : end])
			}
			if td.pages == nil {
				td.pages = map[int][][]byte{}
			}
			td.pages[size] = pages
		}
		td.pageMu.Unlock()
	}
	if n >= len(pages) {
		return []byte("[]"), false
	}
	return pages[n], n+1 < len(pages)
}

// overlay is an instance's deviation from its AMI's content for one type:
// either a full replacement (PutInventory) or per-entry changes.
type overlay struct {
	replace *TypeData
	set     map[string]Entry // added or changed entries by key
	del     map[string]bool  // removed keys
}

// merge builds the effective content of base with o applied.
func (o *overlay) merge(typeName string, base *TypeData) *TypeData {
	if o.replace != nil {
		return o.replace
	}
	var out []Entry
	schema := ""
	if base != nil {
		schema = base.SchemaVersion
		out = make([]Entry, 0, len(base.Entries)+len(o.set))
		for i, e := range base.Entries {
			k := base.keys[i]
			if o.del[k] {
				continue
			}
			if _, changed := o.set[k]; changed {
				continue
			}
			out = append(out, e)
		}
	}
	for _, e := range o.set {
		out = append(out, e)
	}
	return NewTypeData(typeName, schema, out)
}
