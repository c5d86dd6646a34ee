package wasip1

import "encoding/binary"

// view is the guest's linear memory for the length of one call. Every
// read and write of guest memory goes through its methods, which check the
// whole range against the memory's current size in 64-bit arithmetic, so
// that no pointer or length a module passes can reach outside it.
type view []byte

// bytes is the guest range [ptr, ptr+n), or false if any of it is outside.
func (v view) bytes(ptr, n uint32) ([]byte, bool) {
	end := uint64(ptr) + uint64(n)
	if end > uint64(len(v)) {
		return nil, false
	}
	return v[ptr:end:end], true
}

func (v view) u16(ptr uint32) (uint16, bool) {
	b, ok := v.bytes(ptr, 2)
	if !ok {
		return 0, false
	}
	return binary.LittleEndian.Uint16(b), true
}

func (v view) u32(ptr uint32) (uint32, bool) {
	b, ok := v.bytes(ptr, 4)
	if !ok {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b), true
}

func (v view) u64(ptr uint32) (uint64, bool) {
	b, ok := v.bytes(ptr, 8)
	if !ok {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b), true
}

func (v view) putU8(ptr uint32, x uint8) bool {
	b, ok := v.bytes(ptr, 1)
	if ok {
		b[0] = x
	}
	return ok
}

func (v view) putU16(ptr uint32, x uint16) bool {
	b, ok := v.bytes(ptr, 2)
	if ok {
		binary.LittleEndian.PutUint16(b, x)
	}
	return ok
}

func (v view) putU32(ptr uint32, x uint32) bool {
	b, ok := v.bytes(ptr, 4)
	if ok {
		binary.LittleEndian.PutUint32(b, x)
	}
	return ok
}

func (v view) putU64(ptr uint32, x uint64) bool {
	b, ok := v.bytes(ptr, 8)
	if ok {
		binary.LittleEndian.PutUint64(b, x)
	}
	return ok
}

// putU32Result writes a call's u32 out-parameter and turns a bad pointer
// into EFAULT.
func (v view) putU32Result(ptr uint32, x uint32) Errno {
	if !v.putU32(ptr, x) {
		return ErrnoFault
	}
	return ErrnoSuccess
}

func (v view) putU64Result(ptr uint32, x uint64) Errno {
	if !v.putU64(ptr, x) {
		return ErrnoFault
	}
	return ErrnoSuccess
}
