package wasip1

import (
	"math"
	"testing"
)

func TestViewBounds(t *testing.T) {
	v := make(view, 100)
	tests := []struct {
		name   string
		ptr, n uint32
		ok     bool
	}{
		{"inside", 10, 20, true},
		{"up to the end", 90, 10, true},
		{"empty at the end", 100, 0, true},
		{"one past the end", 91, 10, false},
		{"pointer past the end", 101, 0, false},
		{"length wraps 32 bits", 10, math.MaxUint32, false},
		{"pointer at 4 GiB", math.MaxUint32, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, ok := v.bytes(tc.ptr, tc.n)
			if ok != tc.ok {
				t.Fatalf("bytes(%d, %d) ok = %v, want %v", tc.ptr, tc.n, ok, tc.ok)
			}
			if ok && (len(b) != int(tc.n) || cap(b) != int(tc.n)) {
				t.Fatalf("len %d cap %d, want %d", len(b), cap(b), tc.n)
			}
		})
	}
}

func TestViewScalars(t *testing.T) {
	v := make(view, 16)
	if !v.putU64(8, 0x0102030405060708) || !v.putU32(0, 0xa0b0c0d0) || !v.putU16(4, 0xbeef) {
		t.Fatal("in-bounds writes failed")
	}
	if x, _ := v.u64(8); x != 0x0102030405060708 {
		t.Fatalf("u64 = %#x", x)
	}
	if x, _ := v.u32(0); x != 0xa0b0c0d0 {
		t.Fatalf("u32 = %#x", x)
	}
	if x, _ := v.u16(4); x != 0xbeef {
		t.Fatalf("u16 = %#x", x)
	}
	if v.putU64(9, 1) || v.putU32(13, 1) || v.putU16(15, 1) || v.putU8(16, 1) {
		t.Fatal("a write across the end succeeded")
	}
	if _, ok := v.u64(9); ok {
		t.Fatal("a read across the end succeeded")
	}
	if v.putU32Result(13, 1) != ErrnoFault || v.putU64Result(9, 1) != ErrnoFault {
		t.Fatal("out-of-bounds result is not EFAULT")
	}
}
