package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
)

// hello is the body of GET /.
const hello = "hello from go\n"

// defaultFile is what GET /file serves unless SERVE_FILE names another.
const defaultFile = "/data/hello.txt"

// newHandler serves the example's three routes: GET / (hello), GET /file
// (the file at path) and POST /echo (the request body, streamed back).
func newHandler(path string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, hello)
	})
	mux.HandleFunc("GET /file", func(w http.ResponseWriter, _ *http.Request) {
		serveFile(w, path)
	})
	mux.HandleFunc("POST /echo", echo)
	return mux
}

func serveFile(w http.ResponseWriter, path string) {
	f, err := os.Open(path)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		http.Error(w, fmt.Sprintf("stat %s: %v", path, err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
	io.Copy(w, f)
}

// echo streams the body back as it arrives, never holding more than a copy
// buffer: HTTP/1 needs full duplex for that, or the server would swallow
// the rest of the body once the response starts.
func echo(w http.ResponseWriter, r *http.Request) {
	if err := http.NewResponseController(w).EnableFullDuplex(); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if r.ContentLength >= 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(r.ContentLength, 10))
	}
	io.Copy(w, r.Body)
}
