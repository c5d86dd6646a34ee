package wasmexec

import (
	"bufio"
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestHTTPFieldsValidation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value string
		want  error
	}{
		{"content-type", "text/plain", nil},
		{"X-Mixed-Case", "v", nil},
		{"x-obs-text", "caf\xe9", nil}, // a value is bytes, not a string
		{"x-tab", "a\tb", nil},
		{"malformed header name", "v", errHeaderSyntax},
		{"", "v", errHeaderSyntax},
		{"x-newline", "bad\nvalue", errHeaderSyntax},
		{"x-cr", "bad\rvalue", errHeaderSyntax},
		{"x-nul", "bad\x00value", errHeaderSyntax},
		{"x-del", "bad\x7fvalue", errHeaderSyntax},
		{"caf\xc3\xa9", "v", errHeaderSyntax},
		{"Connection", "keep-alive", errHeaderForbidden},
		{"Keep-Alive", "timeout=5", errHeaderForbidden},
		{"host", "example.com", errHeaderForbidden},
		{"Transfer-Encoding", "chunked", errHeaderForbidden},
		{"x-long", strings.Repeat("a", maxFieldValueLen+1), errHeaderSyntax},
	} {
		if err := checkField(tc.name, []byte(tc.value)); !errors.Is(err, tc.want) && err != tc.want {
			t.Errorf("checkField(%q, %q) = %v, want %v", tc.name, tc.value, err, tc.want)
		}
	}
}

func TestHTTPFieldsOperations(t *testing.T) {
	f := &httpFields{}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.append("X-A", []byte("1")))
	must(f.append("content-type", []byte("text/plain")))
	must(f.append("x-a", []byte("2")))
	if got := f.get("X-a"); len(got) != 2 || string(got[0]) != "1" || string(got[1]) != "2" {
		t.Errorf("get folds case and keeps order: %q", got)
	}
	// The guest's order and case are kept.
	var names []string
	for _, e := range f.list() {
		names = append(names, e.name)
	}
	if strings.Join(names, ",") != "X-A,content-type,x-a" {
		t.Errorf("entries %v", names)
	}
	must(f.set("X-A", [][]byte{[]byte("3")}))
	if got := f.get("x-a"); len(got) != 1 || string(got[0]) != "3" {
		t.Errorf("after set: %q", got)
	}
	must(f.delete("CONTENT-TYPE"))
	if f.has("content-type") {
		t.Error("delete left the field")
	}
	c := f.clone()
	f.immutable = true
	if err := f.append("x-b", nil); !errors.Is(err, errHeaderImmutable) {
		t.Errorf("append to immutable fields: %v", err)
	}
	if err := f.set("x-b", nil); !errors.Is(err, errHeaderImmutable) {
		t.Errorf("set on immutable fields: %v", err)
	}
	if err := f.delete("x-a"); !errors.Is(err, errHeaderImmutable) {
		t.Errorf("delete on immutable fields: %v", err)
	}
	if err := c.append("x-b", []byte("ok")); err != nil {
		t.Errorf("a clone is mutable: %v", err)
	}
	if _, err := fieldsFromList([]fieldEntry{{"ok", nil}, {"connection", []byte("close")}}); !errors.Is(err, errHeaderForbidden) {
		t.Errorf("from-list with a forbidden entry: %v", err)
	}
}

func TestHTTPFieldsFromHeader(t *testing.T) {
	f, err := fieldsFromHeader(http.Header{"X-B": {"2"}, "X-A": {"1", "1b"}}, fieldEntry{"host", []byte("h")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range f.list() {
		got = append(got, e.name+"="+string(e.value))
	}
	if strings.Join(got, ",") != "host=h,x-a=1,x-a=1b,x-b=2" {
		t.Errorf("fields %v", got)
	}
	if !f.immutable {
		t.Error("a received header is mutable")
	}
	if _, err := fieldsFromHeader(http.Header{"X-Caf\xe9": {"1"}}); err == nil {
		t.Error("a header name that is not UTF-8 became a field")
	}
}

func TestHTTPRequestTargets(t *testing.T) {
	for s, want := range map[string]bool{"/": true, "/a?b=c": true, "*": true, "": false, "a": false,
		"/a b": false, "/caf\xc3\xa9": false, "/\x7f": false} {
		if validPathWithQuery(s) != want {
			t.Errorf("validPathWithQuery(%q) = %v", s, !want)
		}
	}
	for s, want := range map[string]bool{"example.com": true, "127.0.0.1:8080": true, "[::1]:80": true,
		"": false, "a/b": false, "a b": false, "a?b": false} {
		if validAuthority(s) != want {
			t.Errorf("validAuthority(%q) = %v", s, !want)
		}
	}
	for _, m := range []string{"GET", "PATCH", "get", "PURGE"} {
		got, err := methodOf(valMethod(m))
		if err != nil || got != m {
			t.Errorf("method %q round trip: %q %v", m, got, err)
		}
	}
	if _, err := methodOf(valVariant("other", valString("BAD METHOD"))); err == nil {
		t.Error("a method with a space was accepted")
	}
}

// FuzzHTTPFields: whatever the guest sends, an accepted field is one
// that net/http can send as is, and whose name is a valid string for
// wasmtime; the fields never hold a refused one.
func FuzzHTTPFields(f *testing.F) {
	f.Add("content-type", []byte("text/plain"))
	f.Add("x-a", []byte("caf\xe9"))
	f.Add("bad name", []byte("v"))
	f.Add("x", []byte("a\r\nInjected: 1"))
	f.Add("Connection", []byte("close"))
	f.Add("caf\xc3\xa9", []byte{})
	f.Fuzz(func(t *testing.T, name string, value []byte) {
		fl := &httpFields{}
		err := fl.append(name, value)
		if err != nil {
			if fl.has(name) {
				t.Fatalf("refused %q: %q but the fields hold it", name, value)
			}
			return
		}
		if !utf8.ValidString(name) {
			t.Fatalf("accepted the name %q", name)
		}
		// An HTTP/1.1 parser reads the field back, whole and alone.
		head := "GET / HTTP/1.1\r\nHost: x\r\n" + name + ": " + string(value) + "\r\n\r\n"
		req, perr := http.ReadRequest(bufio.NewReader(strings.NewReader(head)))
		if perr != nil {
			t.Fatalf("accepted %q: %q, which HTTP/1.1 cannot carry: %v", name, value, perr)
		}
		if got := req.Header.Values(name); len(got) != 1 || got[0] != strings.Trim(string(value), " \t") || len(req.Header) != 1 {
			t.Fatalf("accepted %q: %q, read back as %v", name, value, req.Header)
		}
		if forbiddenHeaders[strings.ToLower(name)] {
			t.Fatalf("accepted the forbidden %q", name)
		}
		h := fl.header()
		if got := h.Values(name); len(got) != 1 || got[0] != string(value) {
			t.Fatalf("header %v for %q: %q", h, name, value)
		}
		if err := fl.set(name, [][]byte{value, value}); err != nil {
			t.Fatalf("set of an accepted field: %v", err)
		}
	})
}

// TestHTTPFieldsBounds: fields cannot grow past maxFieldsBytes or
// maxFieldEntries, and a refused change leaves them as they were.
func TestHTTPFieldsBounds(t *testing.T) {
	f := &httpFields{}
	big := []byte(strings.Repeat("v", maxFieldValueLen))
	n := 0
	for ; ; n++ {
		if err := f.append("x-big", big); err != nil {
			if !errors.Is(err, errHeaderSyntax) {
				t.Fatalf("append past the bound: %v", err)
			}
			break
		}
	}
	if n == 0 || (n+1)*(len("x-big")+maxFieldValueLen) <= maxFieldsBytes {
		t.Fatalf("refused after %d fields", n)
	}
	before := len(f.list())
	if err := f.set("x-other", [][]byte{big}); err == nil {
		t.Error("set past the bound was accepted")
	}
	if err := f.set("x-big", [][]byte{big, big, big, big, big, big, big, big, big, big, big, big, big, big, big, big, big}); err == nil {
		t.Error("set past the bound was accepted")
	}
	if got := len(f.list()); got != before {
		t.Errorf("a refused set changed the fields: %d entries, had %d", got, before)
	}
	many := make([]fieldEntry, maxFieldEntries+1)
	for i := range many {
		many[i] = fieldEntry{name: "x", value: nil}
	}
	if _, err := fieldsFromList(many); err == nil {
		t.Error("from-list past maxFieldEntries was accepted")
	}
}
