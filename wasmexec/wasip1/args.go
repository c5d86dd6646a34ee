package wasip1

func (h *Host) argsGet(v view, a args) Errno {
	return writeCStrings(v, h.args, h.argsSize, a.u32(0), a.u32(1))
}

func (h *Host) argsSizesGet(v view, a args) Errno {
	return writeSizes(v, len(h.args), h.argsSize, a.u32(0), a.u32(1))
}

func (h *Host) environGet(v view, a args) Errno {
	return writeCStrings(v, h.env, h.envSize, a.u32(0), a.u32(1))
}

func (h *Host) environSizesGet(v view, a args) Errno {
	return writeSizes(v, len(h.env), h.envSize, a.u32(0), a.u32(1))
}

// writeCStrings writes ss as NUL-terminated strings from buf and a
// pointer to each from ptrs, checking both ranges before writing either.
func writeCStrings(v view, ss []string, size, ptrs, buf uint32) Errno {
	if uint64(len(ss))*4 > 1<<32 {
		return ErrnoFault
	}
	ptrArea, ok := v.bytes(ptrs, uint32(len(ss))*4)
	if !ok {
		return ErrnoFault
	}
	strArea, ok := v.bytes(buf, size)
	if !ok {
		return ErrnoFault
	}
	off := uint32(0)
	for i, s := range ss {
		view(ptrArea).putU32(uint32(i)*4, buf+off)
		copy(strArea[off:], s)
		strArea[off+uint32(len(s))] = 0
		off += uint32(len(s)) + 1
	}
	return ErrnoSuccess
}

func writeSizes(v view, n int, size, countPtr, sizePtr uint32) Errno {
	if !v.putU32(countPtr, uint32(n)) || !v.putU32(sizePtr, size) {
		return ErrnoFault
	}
	return ErrnoSuccess
}
