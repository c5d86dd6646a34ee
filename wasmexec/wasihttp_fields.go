package wasmexec

// wasi:http's fields (headers and trailers) on the Go side: what the
// guest may put in them, checked before anything it sends becomes a Go
// header, and the conversions to and from net/http.

import (
	"errors"
	"net/http"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// The cases of wasi:http's header-error.
var (
	errHeaderSyntax    = errors.New("invalid-syntax")
	errHeaderForbidden = errors.New("forbidden")
	errHeaderImmutable = errors.New("immutable")
)

// forbiddenHeaders are the names a guest may not set: the connection's
// own (hop-by-hop) headers and host, which the host derives from the
// authority. The list is wasmtime's (DEFAULT_FORBIDDEN_HEADERS of
// wasmtime-wasi-http), so a component behaves as under wasmtime serve.
var forbiddenHeaders = map[string]bool{
	"connection":          true,
	"keep-alive":          true,
	"proxy-authenticate":  true,
	"proxy-authorization": true,
	"proxy-connection":    true,
	"transfer-encoding":   true,
	"upgrade":             true,
	"host":                true,
	"http2-settings":      true,
}

// maxFieldNameLen and maxFieldValueLen bound one field, maxFieldEntries
// and maxFieldsBytes (names and values) one fields: a guest cannot make
// the host hold (or send) unbounded headers. The total is net/http's own
// bound on a request head (http.DefaultMaxHeaderBytes). Past a bound,
// the change is refused with invalid-syntax (0.2's header-error has no
// other case for it) and the fields stay as they were.
const (
	maxFieldNameLen  = 8 << 10
	maxFieldValueLen = 64 << 10
	maxFieldEntries  = 1 << 12
	maxFieldsBytes   = http.DefaultMaxHeaderBytes
)

// withinBounds says whether entries fit the bounds of one fields.
func withinBounds(entries []fieldEntry) bool {
	if len(entries) > maxFieldEntries {
		return false
	}
	n := 0
	for _, e := range entries {
		n += len(e.name) + len(e.value)
	}
	return n <= maxFieldsBytes
}

// validFieldName says whether name is an RFC 9110 token: the only names
// that HTTP/1.1 can carry, and all of them ASCII, so valid UTF-8.
func validFieldName(name string) bool {
	if name == "" || len(name) > maxFieldNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// validFieldValue says whether value may be sent as a field value: any
// byte but the controls (tab allowed) and DEL, as the http crate under
// wasmtime checks (HeaderValue::from_bytes). Bytes >= 0x80 (obs-text)
// are allowed: a field-value is a list<u8>, not a string.
func validFieldValue(value []byte) bool {
	if len(value) > maxFieldValueLen {
		return false
	}
	for _, c := range value {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// checkField says whether the guest may add the field name: value.
func checkField(name string, value []byte) error {
	if !validFieldName(name) || !validFieldValue(value) {
		return errHeaderSyntax
	}
	if forbiddenHeaders[strings.ToLower(name)] {
		return errHeaderForbidden
	}
	return nil
}

// fieldEntry is one name: value pair, the name as the guest spelled it.
type fieldEntry struct {
	name  string
	value []byte
}

// httpFields is the object behind a fields resource: the entries in the
// order they were added, the names in the case given (HTTP names are
// case-insensitive: lookups fold case). Immutable fields (a request's or
// a response's headers once they belong to it) refuse every change.
//
// The lock guards entries: the trailers of an outgoing body are read by
// net/http's goroutine after the guest handed them over.
type httpFields struct {
	mu        sync.Mutex
	entries   []fieldEntry
	immutable bool
}

func (f *httpFields) get(name string) [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out [][]byte
	for _, e := range f.entries {
		if strings.EqualFold(e.name, name) {
			out = append(out, e.value)
		}
	}
	return out
}

func (f *httpFields) has(name string) bool { return len(f.get(name)) > 0 }

func (f *httpFields) mutable() error {
	if f.immutable {
		return errHeaderImmutable
	}
	return nil
}

// set replaces every value of name with values.
func (f *httpFields) set(name string, values [][]byte) error {
	if err := f.mutable(); err != nil {
		return err
	}
	for _, v := range values {
		if err := checkField(name, v); err != nil {
			return err
		}
	}
	if len(values) == 0 {
		if err := checkField(name, nil); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	next := make([]fieldEntry, 0, len(f.entries)+len(values))
	for _, e := range f.entries {
		if !strings.EqualFold(e.name, name) {
			next = append(next, e)
		}
	}
	for _, v := range values {
		next = append(next, fieldEntry{name: name, value: v})
	}
	if !withinBounds(next) {
		return errHeaderSyntax
	}
	f.entries = next
	return nil
}

func (f *httpFields) delete(name string) error {
	if err := f.mutable(); err != nil {
		return err
	}
	if err := checkField(name, nil); err != nil {
		return err
	}
	return f.set(name, nil)
}

func (f *httpFields) append(name string, value []byte) error {
	if err := f.mutable(); err != nil {
		return err
	}
	if err := checkField(name, value); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	next := append(f.entries[:len(f.entries):len(f.entries)], fieldEntry{name: name, value: value})
	if !withinBounds(next) {
		return errHeaderSyntax
	}
	f.entries = next
	return nil
}

// list is a copy of the entries.
func (f *httpFields) list() []fieldEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fieldEntry(nil), f.entries...)
}

// clone is a mutable copy.
func (f *httpFields) clone() *httpFields { return &httpFields{entries: f.list()} }

// fieldsFromList builds fields from the guest's entries, refusing the
// whole list if one entry is refused.
func fieldsFromList(entries []fieldEntry) (*httpFields, error) {
	if !withinBounds(entries) {
		return nil, errHeaderSyntax
	}
	for _, e := range entries {
		if err := checkField(e.name, e.value); err != nil {
			return nil, err
		}
	}
	return &httpFields{entries: entries}, nil
}

// header converts the fields to a net/http header (names canonicalized
// by net/http; the order of a name's values kept).
func (f *httpFields) header() http.Header {
	h := http.Header{}
	for _, e := range f.list() {
		h.Add(e.name, string(e.value))
	}
	return h
}

// fieldsFromHeader makes the immutable fields of a header that net/http
// received, names lowercased (as HTTP/2 and wasmtime's http crate show
// them) and sorted, since a Go header has lost the wire order. A name
// that is not a token cannot become a string for the guest (wasmtime
// aborts on a string that is not UTF-8): errHeaderSyntax, which the
// server answers 400. extra (host) comes first.
func fieldsFromHeader(h http.Header, extra ...fieldEntry) (*httpFields, error) {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	sort.Strings(names)
	f := &httpFields{entries: extra, immutable: true}
	for _, e := range extra {
		if !validFieldName(e.name) {
			return nil, errHeaderSyntax
		}
	}
	for _, name := range names {
		if !validFieldName(name) || !utf8.ValidString(name) {
			return nil, errHeaderSyntax
		}
		lower := strings.ToLower(name)
		for _, v := range h[name] {
			f.entries = append(f.entries, fieldEntry{name: lower, value: []byte(v)})
		}
	}
	return f, nil
}
