// Command helper is the hook program of the hooks package's tests. Its
// arguments (or, when it is started with none, HELPER_ARGS) say what to do:
//
//	record FILE     write what it was started with (Record, as JSON) to FILE
//	append FILE S   append the line S to FILE
//	fail CODE       write to stdout and stderr, then exit with CODE
//	spew            write 1 MiB and then "the end" to stderr, then exit 1
//	hang PIDFILE    start a process that sleeps holding its stdout, write
//	                that process's pid to PIDFILE, and sleep
//	sleep           sleep forever
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Record is what the record mode writes; the tests decode the same shape.
type Record struct {
	Args  []string `json:"args"`
	Env   []string `json:"env"`
	Stdin string   `json:"stdin"`
	Cwd   string   `json:"cwd"`
	UID   int      `json:"uid"`
	GID   int      `json:"gid"`
}

func main() {
	args := os.Args[1:]
	if len(args) == 0 {
		args = strings.Fields(os.Getenv("HELPER_ARGS"))
	}
	if len(args) == 0 {
		fail("no mode")
	}
	switch args[0] {
	case "record":
		record(args[1])
	case "append":
		f, err := os.OpenFile(args[1], os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		check(err)
		_, err = fmt.Fprintln(f, args[2])
		check(err)
		check(f.Close())
	case "fail":
		code, _ := strconv.Atoi(args[1])
		fmt.Println("said on stdout")
		fmt.Fprintln(os.Stderr, "the reason, on stderr")
		os.Exit(code)
	case "spew":
		os.Stderr.Write([]byte(strings.Repeat("x", 1<<20)))
		fmt.Fprintln(os.Stderr, "the end")
		os.Exit(1)
	case "hang":
		self, err := os.Executable()
		check(err)
		cmd := exec.Command(self, "sleep")
		cmd.Stdout = os.Stdout
		check(cmd.Start())
		check(os.WriteFile(args[1], []byte(strconv.Itoa(cmd.Process.Pid)), 0o644))
		time.Sleep(time.Hour)
	case "sleep":
		time.Sleep(time.Hour)
	default:
		fail("unknown mode " + args[0])
	}
}

func record(path string) {
	stdin, err := io.ReadAll(os.Stdin)
	check(err)
	cwd, err := os.Getwd()
	check(err)
	env := os.Environ()
	if env == nil {
		env = []string{}
	}
	data, err := json.Marshal(Record{Args: os.Args, Env: env, Stdin: string(stdin), Cwd: cwd, UID: os.Getuid(), GID: os.Getgid()})
	check(err)
	check(os.WriteFile(path, data, 0o644))
}

func check(err error) {
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "helper:", msg)
	os.Exit(2)
}
