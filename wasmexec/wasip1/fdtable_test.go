package wasip1

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func devNull(t *testing.T) int {
	t.Helper()
	fd, err := unix.Open(os.DevNull, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	return fd
}

func TestFdTable(t *testing.T) {
	var tab fdTable
	defer tab.closeAll()
	for want := int32(0); want < 4; want++ {
		e, errno := tab.newEntry(devNull(t), rightsAll, 0)
		if errno != ErrnoSuccess {
			t.Fatal(errno)
		}
		if got, _ := tab.insert(e); got != want {
			t.Fatalf("insert = %d, want %d", got, want)
		}
	}
	if errno := tab.close(1); errno != ErrnoSuccess {
		t.Fatal(errno)
	}
	if errno := tab.close(1); errno != ErrnoBadf {
		t.Fatalf("second close = %d, want EBADF", errno)
	}
	e, _ := tab.newEntry(devNull(t), rightsAll, 0)
	if got, _ := tab.insert(e); got != 1 {
		t.Fatalf("insert after close = %d, want the lowest free fd 1", got)
	}
	tests := []struct {
		name string
		fd   int32
		need uint64
		want Errno
	}{
		{"open", 2, rightFdRead, ErrnoSuccess},
		{"negative", -1, 0, ErrnoBadf},
		{"past the table", 4, 0, ErrnoBadf},
		{"far past the table", 1 << 30, 0, ErrnoBadf},
		{"right a character device lacks", 2, rightPathOpen, ErrnoNotcapable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, errno := tab.get(tc.fd, tc.need); errno != tc.want {
				t.Fatalf("get(%d) = %d, want %d", tc.fd, errno, tc.want)
			}
		})
	}
	if errno := tab.renumber(3, 0); errno != ErrnoSuccess {
		t.Fatal(errno)
	}
	if _, errno := tab.get(3, 0); errno != ErrnoBadf {
		t.Fatal("renumber left its source open")
	}
	if errno := tab.renumber(0, 9); errno != ErrnoBadf {
		t.Fatalf("renumber to a closed fd = %d, want EBADF", errno)
	}
}

func TestFdTableFull(t *testing.T) {
	tab := fdTable{entries: make([]*entry, maxFds)}
	for i := range tab.entries {
		tab.entries[i] = &entry{hostFd: -1}
	}
	if _, errno := tab.insert(&entry{hostFd: -1}); errno != ErrnoMfile {
		t.Fatalf("insert into a full table = %d, want EMFILE", errno)
	}
}
