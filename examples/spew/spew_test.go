package spew

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func TestWriteMatchesDefinition(t *testing.T) {
	for _, mib := range []int{0, 1, 3} {
		var buf bytes.Buffer
		if err := Write(&buf, mib); err != nil {
			t.Fatal(err)
		}
		got := buf.Bytes()
		if len(got) != mib*MiB {
			t.Fatalf("spew %d: got %d bytes, want %d", mib, len(got), mib*MiB)
		}
		for i, b := range got {
			if b != byte(i%251) {
				t.Fatalf("spew %d: byte %d is %d, want %d", mib, i, b, i%251)
			}
		}
		sum := sha256.Sum256(got)
		if want := hex.EncodeToString(sum[:]); Sum(mib) != want {
			t.Fatalf("Sum(%d) = %s, want %s", mib, Sum(mib), want)
		}
	}
}

// The digest is pinned so a change to the pattern is a deliberate one: tests
// in other packages may hard-code it.
func TestSumPinned(t *testing.T) {
	const want = "631b84027d6b9e52b539c4e8373622d23032dfadc64d60af87339c9037e4f769"
	if got := Sum(1); got != want {
		t.Fatalf("Sum(1) = %s, want %s", got, want)
	}
}
