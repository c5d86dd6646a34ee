package wasmexec

// A task child (this binary run with taskchild.ChildArg as argv[1]) never
// execs, yet it runs code from strangers on an engine that could have
// bugs: with no_new_privs set, nothing it might exec could gain privileges
// through setuid bits or file capabilities, and seccomp filters may be
// added without CAP_SYS_ADMIN. The flag is per thread and only threads
// created later inherit it, so it is set in a C constructor, before the Go
// runtime starts any thread. It lives here because this is the package
// that may use cgo; glibc passes argc and argv to constructors.
//
// The constructor runs before any Go code, so it cannot read the Go
// constant: TASK_CHILD_ARG is its copy, and TestTaskChildArgIsChildArg
// holds the two equal.

/*
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define TASK_CHILD_ARG "__wasm-task-child"

static const char *wasmexec_task_child_arg(void) { return TASK_CHILD_ARG; }

__attribute__((constructor)) static void wasmexec_task_child_no_new_privs(int argc, char **argv) {
	static const char msg[] = "task child: prctl(PR_SET_NO_NEW_PRIVS) failed\n";
	if (argc < 2 || argv == NULL || argv[1] == NULL || strcmp(argv[1], TASK_CHILD_ARG) != 0)
		return;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		(void)!write(2, msg, sizeof msg - 1);
		_exit(1);
	}
}
*/
import "C"

// noNewPrivsArg is the argv[1] for which the constructor sets
// no_new_privs.
func noNewPrivsArg() string { return C.GoString(C.wasmexec_task_child_arg()) }
