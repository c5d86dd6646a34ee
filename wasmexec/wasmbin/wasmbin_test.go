package wasmbin

import (
	"errors"
	"testing"
)

func TestKindOf(t *testing.T) {
	tests := []struct {
		name    string
		header  string
		want    Kind
		wantErr error
	}{
		{name: "core module", header: "\x00asm\x01\x00\x00\x00", want: Module},
		{name: "core module with sections", header: "\x00asm\x01\x00\x00\x00\x01\x04\x01\x60\x00\x00", want: Module},
		{name: "component", header: "\x00asm\x0d\x00\x01\x00", want: Component},
		{name: "future component version", header: "\x00asm\x0e\x00\x01\x00", want: Component},
		{name: "unknown layer", header: "\x00asm\x01\x00\x02\x00"},
		{name: "not wasm", header: "#!/bin/sh\n", wantErr: ErrNotWasm},
		{name: "ELF", header: "\x7fELF\x02\x01\x01\x00", wantErr: ErrNotWasm},
		{name: "magic only", header: "\x00asm", wantErr: ErrNotWasm},
		{name: "empty", header: "", wantErr: ErrNotWasm},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := KindOf([]byte(tc.header))
			if tc.want != 0 {
				if err != nil || got != tc.want {
					t.Fatalf("KindOf = %v, %v; want %v", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("KindOf = %v, want an error", got)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("KindOf error = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestHasMagic(t *testing.T) {
	for in, want := range map[string]bool{"\x00asm": true, "\x00asm\x01": true, "\x00as": false, "": false, "asm\x00": false} {
		if got := HasMagic([]byte(in)); got != want {
			t.Errorf("HasMagic(%q) = %v, want %v", in, got, want)
		}
	}
}

// FuzzKindOf: any bytes get a kind or an error, never a panic, and a kind
// only for bytes that start with the magic.
func FuzzKindOf(f *testing.F) {
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Add([]byte("\x00asm\x0d\x00\x01\x00"))
	f.Add([]byte("\x00asm"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := KindOf(b)
		if err == nil && (!HasMagic(b) || len(b) < HeaderSize || (k != Module && k != Component)) {
			t.Fatalf("KindOf(%q) = %v without an error", b, k)
		}
	})
}
