package wasip1

import (
	"errors"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"
)

func TestErrnoOf(t *testing.T) {
	tests := []struct {
		err  error
		want Errno
	}{
		{nil, ErrnoSuccess},
		{unix.ENOENT, ErrnoNoent},
		{unix.EXDEV, ErrnoXdev},
		{unix.EOPNOTSUPP, ErrnoNotsup},
		{fmt.Errorf("wrapped: %w", unix.EACCES), ErrnoAcces},
		{unix.Errno(4095), ErrnoIo},
		{unix.EHWPOISON, ErrnoIo},
		{errors.New("not an errno"), ErrnoIo},
	}
	for _, tc := range tests {
		if got := errnoOf(tc.err); got != tc.want {
			t.Errorf("errnoOf(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// TestErrnoTableInRange checks that the table holds WASI errnos only.
func TestErrnoTableInRange(t *testing.T) {
	for e, w := range linuxErrno {
		if w > ErrnoNotcapable {
			t.Errorf("linux errno %d maps to %d, beyond WASI's last errno", e, w)
		}
		if e == 0 && w != 0 {
			t.Error("errno 0 maps to an error")
		}
	}
}
