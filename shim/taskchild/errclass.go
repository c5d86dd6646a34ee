package taskchild

import (
	"errors"
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
)

// classes are the errdefs classes that an error keeps across the status
// fd, by the name it travels under.
var classes = []struct {
	name  string
	class error
}{
	{"invalid-argument", errdefs.ErrInvalidArgument},
	{"not-found", errdefs.ErrNotFound},
	{"failed-precondition", errdefs.ErrFailedPrecondition},
	{"permission-denied", errdefs.ErrPermissionDenied},
	{"resource-exhausted", errdefs.ErrResourceExhausted},
	{"not-implemented", errdefs.ErrNotImplemented},
}

// Classify gives err an errdefs class (errdefs.ErrNotFound, ...), named
// at the end of its message as containerd's errors are: an Engine's
// Prepare returns its errors classified, and the shim hands containerd
// the class (InvalidArgument for a file that is not wasm, ...) instead of
// Unknown.
func Classify(err, class error) error {
	if err == nil || class == nil {
		return err
	}
	return fmt.Errorf("%w: %w", err, class)
}

// className is the name of err's class, "" if it has none of classes.
func className(err error) string {
	for _, c := range classes {
		if errors.Is(err, c.class) {
			return c.name
		}
	}
	return ""
}

// errorOf rebuilds an error sent over the status fd: its message, which
// names its class if it has one, and that class when the name is one of
// classes.
func errorOf(msg, name string) error {
	for _, c := range classes {
		if c.name == name {
			return fmt.Errorf("%s: %w", strings.TrimSuffix(msg, ": "+c.class.Error()), c.class)
		}
	}
	return errors.New(msg)
}
