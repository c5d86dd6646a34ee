package wasmexec

// wasi:random/random, insecure and insecure-seed.

import (
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	mrand "math/rand/v2"
)

func init() {
	registerP2Interface("wasi:random/random", defineP2Random)
	registerP2Interface("wasi:random/insecure", defineP2Insecure)
	registerP2Interface("wasi:random/insecure-seed", defineP2InsecureSeed)
}

// p2RandomMax bounds one get-*-random-bytes call. WASI wants exactly the
// length asked for, so a larger request traps rather than being cut; a
// list<u8> costs 32 bytes of wasmtime values per byte on its way.
const p2RandomMax = 1 << 20

func randomLen(fn string, n uint64) (int, error) {
	if n > p2RandomMax {
		return 0, fmt.Errorf("%s: %d bytes, more than the %d this host hands out per call", fn, n, p2RandomMax)
	}
	return int(n), nil
}

func defineP2Random(w *p2World, name string) {
	w.l.defineFunc(name, "get-random-bytes", func(h *hostInstance, p, r []cval) error {
		n, err := randomLen("get-random-bytes", p[0].U64())
		if err != nil {
			return err
		}
		b := make([]byte, n)
		// crypto/rand.Read never fails (Go 1.24).
		_, _ = crand.Read(b)
		r[0] = valBytes(b)
		return nil
	})
	w.l.defineFunc(name, "get-random-u64", func(h *hostInstance, p, r []cval) error {
		r[0] = valU64(cryptoU64())
		return nil
	})
}

func cryptoU64() uint64 {
	var b [8]byte
	_, _ = crand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

func defineP2Insecure(w *p2World, name string) {
	w.l.defineFunc(name, "get-insecure-random-bytes", func(h *hostInstance, p, r []cval) error {
		n, err := randomLen("get-insecure-random-bytes", p[0].U64())
		if err != nil {
			return err
		}
		b := make([]byte, n)
		for i := 0; i < n; i += 8 {
			var w [8]byte
			binary.LittleEndian.PutUint64(w[:], mrand.Uint64())
			copy(b[i:], w[:])
		}
		r[0] = valBytes(b)
		return nil
	})
	w.l.defineFunc(name, "get-insecure-random-u64", func(h *hostInstance, p, r []cval) error {
		r[0] = valU64(mrand.Uint64())
		return nil
	})
}

func defineP2InsecureSeed(w *p2World, name string) {
	w.l.defineFunc(name, "insecure-seed", func(h *hostInstance, p, r []cval) error {
		r[0] = valTuple(valU64(cryptoU64()), valU64(cryptoU64()))
		return nil
	})
}
