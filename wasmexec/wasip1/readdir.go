package wasip1

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// dirent is one directory entry as fd_readdir reports it.
type dirent struct {
	ino   uint64
	name  string
	ftype filetype
}

// fdReaddir lists a directory from a cookie, which is the index of the
// next entry. The list is read afresh at cookie 0 and kept until then,
// so that a module paging through a directory sees one consistent list.
func (h *Host) fdReaddir(v view, a args) Errno {
	e, errno := h.fds.get(a.i32(0), rightFdReaddir)
	if errno != ErrnoSuccess {
		return errno
	}
	buf, ok := v.bytes(a.u32(1), a.u32(2))
	if !ok {
		return ErrnoFault
	}
	if _, ok := v.bytes(a.u32(4), 4); !ok {
		return ErrnoFault
	}
	cookie := a.u64(3)
	if cookie == 0 || e.dir == nil {
		if e.dir, errno = readDir(e.hostFd); errno != ErrnoSuccess {
			return errno
		}
	}
	used := 0
	for i := cookie; i < uint64(len(e.dir)) && used < len(buf); i++ {
		used += putDirent(buf[used:], e.dir[i], i+1)
	}
	return v.putU32Result(a.u32(4), uint32(used))
}

// putDirent writes as much of one entry as fits and returns its size;
// a truncated entry fills the buffer, which tells the module to retry
// with a larger one.
func putDirent(buf []byte, d dirent, next uint64) int {
	var hdr [sizeDirentHeader]byte
	binary.LittleEndian.PutUint64(hdr[0:], next)
	binary.LittleEndian.PutUint64(hdr[8:], d.ino)
	binary.LittleEndian.PutUint32(hdr[16:], uint32(len(d.name)))
	hdr[20] = byte(d.ftype)
	n := copy(buf, hdr[:])
	return n + copy(buf[n:], d.name)
}

// readDir lists the directory fd names through a descriptor of its own,
// so that the guest's descriptor keeps no kernel directory position.
func readDir(fd int) ([]dirent, Errno) {
	dfd, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, errnoOf(err)
	}
	defer unix.Close(dfd)
	var list []dirent
	buf := make([]byte, 8192)
	for {
		n, err := unix.Getdents(dfd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, errnoOf(err)
		}
		if n == 0 {
			return list, ErrnoSuccess
		}
		list = parseDirents(dfd, buf[:n], list)
	}
}

// parseDirents decodes linux_dirent64 records: ino u64, off s64,
// reclen u16, type u8, NUL-terminated name.
func parseDirents(dfd int, b []byte, list []dirent) []dirent {
	for len(b) >= 19 {
		reclen := int(binary.LittleEndian.Uint16(b[16:]))
		if reclen < 19 || reclen > len(b) {
			break
		}
		rec := b[:reclen]
		b = b[reclen:]
		name := rec[19:]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		d := dirent{ino: binary.LittleEndian.Uint64(rec), name: string(name), ftype: filetypeOfDT(rec[18])}
		if d.ftype == filetypeUnknown && rec[18] == unix.DT_UNKNOWN {
			var st unix.Stat_t
			if unix.Fstatat(dfd, d.name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
				d.ftype = filetypeOfMode(st.Mode)
			}
		}
		list = append(list, d)
	}
	return list
}

func filetypeOfDT(t uint8) filetype {
	switch t {
	case unix.DT_DIR:
		return filetypeDirectory
	case unix.DT_REG:
		return filetypeRegularFile
	case unix.DT_LNK:
		return filetypeSymbolicLink
	case unix.DT_CHR:
		return filetypeCharacterDevice
	case unix.DT_BLK:
		return filetypeBlockDevice
	case unix.DT_SOCK:
		return filetypeSocketStream
	}
	return filetypeUnknown
}
