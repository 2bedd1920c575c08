package wire

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestTokens(t *testing.T) {
	tk := NewTokens()
	tok := tk.Mint("DescribeInstances|Filter.1.Name=x&", 40)
	if off, ok := tk.Check("DescribeInstances|Filter.1.Name=x&", tok); !ok || off != 40 {
		t.Fatalf("Check(own token) = %d, %v", off, ok)
	}
	a, b, _ := strings.Cut(tok, ".")
	for name, bad := range map[string]string{
		"other scope":  "",
		"no dot":       a + b,
		"forged sig":   a + "." + b[1:] + "A",
		"other minter": NewTokens().Mint("DescribeInstances|Filter.1.Name=x&", 40),
		"not base64":   "!!." + b,
		"empty":        "",
	} {
		scope := "DescribeInstances|Filter.1.Name=x&"
		tok := bad
		if name == "other scope" {
			scope, tok = "DescribeInstances|Filter.1.Name=y&", tk.Mint("DescribeInstances|Filter.1.Name=x&", 40)
		}
		if off, ok := tk.Check(scope, tok); ok {
			t.Errorf("%s: token accepted (offset %d)", name, off)
		}
	}
}

func TestPage(t *testing.T) {
	tk := NewTokens()
	items := []int{0, 1, 2, 3, 4, 5, 6}
	c, ok := tk.Resume("s", "")
	if !ok || c.Off != 0 {
		t.Fatalf("Resume without a token = %+v, %v", c, ok)
	}
	var got []int
	pages := 0
	for {
		page, next := Page(c, items, 3)
		got = append(got, page...)
		pages++
		if next == "" {
			break
		}
		if c, ok = tk.Resume("s", next); !ok {
			t.Fatalf("Resume(%q) refused its own token", next)
		}
	}
	if !reflect.DeepEqual(got, items) || pages != 3 {
		t.Fatalf("pages of 3 gave %v in %d pages", got, pages)
	}
	if _, ok := tk.Resume("other", tk.Mint("s", 3)); ok {
		t.Fatal("a token of another scope resumed the listing")
	}
	// An exact multiple of the limit ends without a token; no limit is all.
	if page, next := Page(Cursor{tok: tk, scope: "s"}, items[:6], 3); len(page) != 3 || next == "" {
		t.Fatalf("first page of 6 by 3: %v %q", page, next)
	}
	if page, next := Page(Cursor{tok: tk, scope: "s", Off: 3}, items[:6], 3); len(page) != 3 || next != "" {
		t.Fatalf("last page of 6 by 3: %v %q", page, next)
	}
	if page, next := Page(Cursor{tok: tk, scope: "s", Off: 2}, items, 0); len(page) != 5 || next != "" {
		t.Fatalf("no limit: %v %q", page, next)
	}
	if page, next := Page(Cursor{tok: tk, scope: "s", Off: 99}, items, 3); len(page) != 0 || next != "" {
		t.Fatalf("offset past the end: %v %q", page, next)
	}
}

func TestXMLLists(t *testing.T) {
	var b XML
	ItemSet(&b, "imagesSet", []string{"a", "<b>"}, func(b *XML, v string) { b.El("imageId", v) })
	MemberList(&b, "Groups", []int{1}, func(b *XML, v int) { b.Int("Size", v); b.Bool("On", true); b.Opt("Empty", "") })
	TagSet(&b, map[string]string{"z": "1", "a": "&"})
	TagSet(&b, nil)
	want := `<imagesSet><item><imageId>a</imageId></item><item><imageId>&lt;b&gt;</imageId></item></imagesSet>` +
		`<Groups><member><Size>1</Size><On>true</On></member></Groups>` +
		`<tagSet><item><key>a</key><value>&amp;</value></item><item><key>z</key><value>1</value></item></tagSet>`
	if b.String() != want {
		t.Fatalf("got  %s\nwant %s", b.String(), want)
	}
}

func TestFormLists(t *testing.T) {
	form, _ := url.ParseQuery("InstanceId.2=b&InstanceId.10=c&InstanceId.1=a&InstanceId.x=no&InstanceId.0=no" +
		"&Ids.member.2=y&Ids.member.1=x" +
		"&Filter.2.Name=tag:team&Filter.2.Value.1=web&Filter.1.Name=instance-state-name&Filter.1.Value.2=stopped&Filter.1.Value.1=running" +
		"&Filters.member.1.Name=tag-key&Filters.member.1.Values.member.1=team&NextToken=t&MaxResults=5")
	if got := EC2List(form, "InstanceId"); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("EC2List = %v", got)
	}
	if got := QueryList(form, "Ids"); !reflect.DeepEqual(got, []string{"x", "y"}) {
		t.Errorf("QueryList = %v", got)
	}
	want := []Filter{{"instance-state-name", []string{"running", "stopped"}}, {"tag:team", []string{"web"}}}
	if got := EC2Filters(form); !reflect.DeepEqual(got, want) {
		t.Errorf("EC2Filters = %v", got)
	}
	if got := QueryFilters(form); !reflect.DeepEqual(got, []Filter{{"tag-key", []string{"team"}}}) {
		t.Errorf("QueryFilters = %v", got)
	}
	fp := Fingerprint(form, "NextToken", "MaxResults")
	if strings.Contains(fp, "NextToken") || strings.Contains(fp, "MaxResults") || !strings.HasPrefix(fp, "Filter.1.Name=instance-state-name&") {
		t.Errorf("Fingerprint = %s", fp)
	}
	for s, want := range map[string][2]bool{"true": {true, true}, "false": {false, true}, "True": {false, false}, "": {false, false}} {
		if v, ok := ParseBool(s); v != want[0] || ok != want[1] {
			t.Errorf("ParseBool(%q) = %v, %v", s, v, ok)
		}
	}
}

func TestWriteRawJSON(t *testing.T) {
	w := httptest.NewRecorder()
	WriteRawJSON(w, &Request{Protocol: JSON11, ID: "rid"}, []byte(`{"a":1}`))
	if w.Body.String() != `{"a":1}` || w.Header().Get("Content-Length") != "7" ||
		w.Header().Get("Content-Type") != "application/x-amz-json-1.1" || w.Header().Get("X-Amzn-Requestid") != "rid" {
		t.Fatalf("got %q %v", w.Body, w.Header())
	}
}

// FuzzAppendJSONString: the fast path renders every string exactly as
// encoding/json does.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"i-0123456789abcdef0", `a"b`, "<&>", "\x00\n", "héllo", "\u2028", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendJSONString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("AppendJSONString(%q) = %s, want x%s", s, got, want)
		}
	})
}

// FuzzTokenCheck feeds arbitrary tokens to Check: it never panics and
// accepts only what Mint issued for the scope.
func FuzzTokenCheck(f *testing.F) {
	tk := NewTokens()
	f.Add(tk.Mint("scope", 10))
	f.Add("MTB8c2NvcGU.AAAA")
	f.Add("...")
	f.Fuzz(func(t *testing.T, tok string) {
		off, ok := tk.Check("scope", tok)
		if ok && tk.Mint("scope", off) != tok {
			t.Fatalf("Check accepted %q (offset %d), which Mint does not issue", tok, off)
		}
	})
}
