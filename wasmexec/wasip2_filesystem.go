package wasmexec

// wasi:filesystem/types and preopens, with nothing in them: there are no
// preopened directories, so a guest never holds a descriptor and no path
// on the host is reachable. The types are defined because components
// made with the preview 1 adapter import them whether they use files or
// not; every descriptor method answers error-code access.

func init() {
	registerP2Interface("wasi:filesystem/types", defineP2FilesystemTypes)
	registerP2Interface("wasi:filesystem/preopens", defineP2Preopens)
}

// p2DescriptorMethods are the methods of descriptor in WASI 0.2.12, all
// of which return result<_, error-code> (with some ok payload) except
// is-same-object.
var p2DescriptorMethods = []string{
	"read-via-stream", "write-via-stream", "append-via-stream", "advise", "sync-data",
	"get-flags", "get-type", "set-size", "set-times", "read", "write", "read-directory",
	"sync", "create-directory-at", "stat", "stat-at", "set-times-at", "link-at", "open-at",
	"readlink-at", "remove-directory-at", "rename-at", "symlink-at", "unlink-file-at",
	"metadata-hash", "metadata-hash-at",
}

// p2NoAccess is error-code access, the answer of every descriptor method.
func p2NoAccess(h *hostInstance, p, r []cval) error {
	r[0] = valErr(valEnum("access"))
	return nil
}

func defineP2FilesystemTypes(w *p2World, name string) {
	w.resource(p2IOStreams, "input-stream")
	w.resource(p2IOError, "error")
	w.l.defineResource(name, "descriptor", nil)
	w.l.defineResource(name, "directory-entry-stream", nil)
	for _, m := range p2DescriptorMethods {
		w.l.defineFunc(name, "[method]descriptor."+m, p2NoAccess)
	}
	w.l.defineFunc(name, "[method]descriptor.is-same-object", func(h *hostInstance, p, r []cval) error {
		r[0] = valBool(false)
		return nil
	})
	w.l.defineFunc(name, "[method]directory-entry-stream.read-directory-entry", p2NoAccess)
	// No error of this host is a filesystem error.
	w.l.defineFunc(name, "filesystem-error-code", func(h *hostInstance, p, r []cval) error {
		r[0] = valNone()
		return nil
	})
}

func defineP2Preopens(w *p2World, name string) {
	w.resource("wasi:filesystem/types", "descriptor")
	w.l.defineFunc(name, "get-directories", func(h *hostInstance, p, r []cval) error {
		r[0] = valList()
		return nil
	})
}
