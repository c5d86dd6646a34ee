package nettest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// wantSocketImports is the table of docs/wasmedge-sockets.md, "What each
// example imports": every sock_* and poll_oneoff import of the modules that
// `make examples` builds into bin/examples/net, with its wasm type. The
// preview 1 host must define each of them with exactly this type.
var wantSocketImports = map[string][]string{
	"c-server":    {"poll_oneoff (i32,i32,i32,i32)->i32", "sock_accept (i32,i32,i32)->i32"},
	"rust-server": {"poll_oneoff (i32,i32,i32,i32)->i32", "sock_accept (i32,i32,i32)->i32"},
	"go-server":   {"poll_oneoff (i32,i32,i32,i32)->i32", "sock_accept (i32,i32,i32)->i32", "sock_shutdown (i32,i32)->i32"},
	"http-get": {
		"sock_connect (i32,i32,i32)->i32", "sock_open (i32,i32,i32)->i32",
		"sock_recv (i32,i32,i32,i32,i32,i32)->i32", "sock_send (i32,i32,i32,i32,i32)->i32",
	},
	"http-get-dns": {
		"sock_connect (i32,i32,i32)->i32", "sock_getaddrinfo (i32,i32,i32,i32,i32,i32,i32,i32)->i32",
		"sock_open (i32,i32,i32)->i32", "sock_recv (i32,i32,i32,i32,i32,i32)->i32",
		"sock_send (i32,i32,i32,i32,i32)->i32",
	},
}

// TestSocketImports reads the built modules, so it skips them when they are
// not built, unless E2E_REQUIRE_TOOLCHAINS is set (as in CI, after `make
// examples`).
func TestSocketImports(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "bin", "examples", "net")
	for name, want := range wantSocketImports {
		t.Run(name, func(t *testing.T) {
			wasm, err := os.ReadFile(filepath.Join(dir, name+".wasm"))
			if os.IsNotExist(err) && os.Getenv("E2E_REQUIRE_TOOLCHAINS") == "" {
				t.Skipf("%s.wasm is not built (make examples)", name)
			}
			if err != nil {
				t.Fatal(err)
			}
			imports, err := funcImports(wasm)
			if err != nil {
				t.Fatalf("%s.wasm: %v", name, err)
			}
			var got []string
			for _, im := range imports {
				if im.module != "wasi_snapshot_preview1" {
					t.Errorf("%s.wasm imports %s.%s: only wasi_snapshot_preview1 is defined", name, im.module, im.name)
				}
				if strings.HasPrefix(im.name, "sock_") || im.name == "poll_oneoff" {
					got = append(got, im.name+" "+im.sig)
				}
			}
			slices.Sort(got)
			got = slices.Compact(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s.wasm socket imports:\n got %q\nwant %q\n(update docs/wasmedge-sockets.md with the table)", name, got, want)
			}
		})
	}
}

type funcImport struct{ module, name, sig string }

// funcImports lists a module's function imports with their types written
// as "(i32,i32)->i32". It reads the type and import sections only.
func funcImports(wasm []byte) ([]funcImport, error) {
	if len(wasm) < 8 || !bytes.Equal(wasm[:4], []byte("\x00asm")) {
		return nil, fmt.Errorf("not a wasm module")
	}
	r := &reader{b: wasm[8:]}
	var types []string
	var imports []funcImport
	for len(r.b) > 0 && r.err == nil {
		id := r.byte()
		body := &reader{b: r.bytes(int(r.u32()))}
		switch id {
		case 1:
			for n := body.u32(); n > 0 && body.err == nil; n-- {
				types = append(types, body.funcType())
			}
		case 2:
			for n := body.u32(); n > 0 && body.err == nil; n-- {
				mod, name := body.name(), body.name()
				if kind := body.byte(); kind != 0 {
					return nil, fmt.Errorf("import %s.%s is not a function (kind %d)", mod, name, kind)
				}
				ti := int(body.u32())
				if ti >= len(types) {
					return nil, fmt.Errorf("import %s.%s has type %d of %d", mod, name, ti, len(types))
				}
				imports = append(imports, funcImport{mod, name, types[ti]})
			}
		}
		if body.err != nil {
			return nil, body.err
		}
	}
	return imports, r.err
}

// reader decodes the wasm binary format; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		r.fail()
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) byte() byte {
	if p := r.bytes(1); p != nil {
		return p[0]
	}
	return 0
}

func (r *reader) u32() uint32 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > 1<<32-1 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return uint32(v)
}

func (r *reader) name() string { return string(r.bytes(int(r.u32()))) }

func (r *reader) funcType() string {
	if r.byte() != 0x60 {
		r.fail()
		return ""
	}
	params, results := r.valTypes(), r.valTypes()
	if len(results) == 0 {
		results = "nil"
	}
	return "(" + params + ")->" + results
}

func (r *reader) valTypes() string {
	names := map[byte]string{0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64", 0x7b: "v128"}
	var out []string
	for n := r.u32(); n > 0 && r.err == nil; n-- {
		b := r.byte()
		name, ok := names[b]
		if !ok {
			name = fmt.Sprintf("0x%02x", b)
		}
		out = append(out, name)
	}
	return strings.Join(out, ",")
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = fmt.Errorf("truncated or malformed module")
	}
}
