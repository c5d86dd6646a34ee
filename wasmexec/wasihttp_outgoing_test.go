package wasmexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// outgoingTest sends q as the guest would, without a guest: the Go side
// of wasi:http/outgoing-handler against an upstream on loopback.
func outgoingTest(t *testing.T, q *outgoingRequest, opts *requestOptions) *futureResponse {
	t.Helper()
	st := &httpRequestState{proxy: &httpProxy{client: newHTTPClient()}, ctx: context.Background()}
	f, ec := st.send(q, opts)
	if ec != nil {
		t.Fatalf("send: %v", ec)
	}
	select {
	case <-f.done:
	case <-time.After(time.Minute):
		t.Fatal("no response")
	}
	return f
}

func request(method, authority, path string, body bool) *outgoingRequest {
	scheme := "http"
	q := &outgoingRequest{method: method, scheme: &scheme, authority: &authority, pathWithQuery: &path,
		headers: &httpFields{immutable: true}}
	if body {
		q.bodyTaken = true
		q.body = &outgoingBody{pipe: newBodyPipe(), reqTrailer: make(map[string][]string)}
	}
	return q
}

// TestHTTPOutgoingBodyAndTrailers: a request body streamed through the
// pipe (more than the pipe holds), its trailers, and the response's
// body and trailers read back.
func TestHTTPOutgoingBodyAndTrailers(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		w.Header().Set("Trailer", "X-Count")
		fmt.Fprintf(w, "%s %d %v trailer=%s", r.Method, n, err, r.Trailer.Get("X-Sum"))
		w.Header().Set("X-Count", fmt.Sprint(n))
	}))
	defer upstream.Close()
	q := request("PUT", strings.TrimPrefix(upstream.URL, "http://"), "/up", true)
	const total = 3*bodyPipeSize + 17
	go func() {
		s := &bodyStream{body: q.body}
		chunk := make([]byte, 4096)
		for sent := 0; sent < total; {
			n, err := s.checkWrite()
			if err != nil {
				t.Errorf("checkWrite: %v", err)
				return
			}
			if n == 0 {
				<-s.ready()
				continue
			}
			k := min(int(n), len(chunk), total-sent)
			if err := s.write(chunk[:k]); err != nil {
				t.Errorf("write: %v", err)
				return
			}
			sent += k
		}
		s.close()
		if err := q.body.finish(nil, &httpFields{entries: []fieldEntry{{"x-sum", []byte("42")}}}); err != nil {
			t.Errorf("finish: %v", err)
		}
	}()
	f := outgoingTest(t, q, &requestOptions{})
	if f.err != nil {
		t.Fatalf("response: %v", f.err)
	}
	// The guest took the response (get) and dropped the future: the
	// body it reads goes on.
	f.taken = true
	f.abandon()
	b, err := io.ReadAll(f.resp.body)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("PUT %d <nil> trailer=42", total); string(b) != want {
		t.Errorf("body %q, want %q", b, want)
	}
	<-f.resp.body.done
	tr, err := f.resp.body.result()
	if err != nil || tr.Get("X-Count") != fmt.Sprint(total) {
		t.Errorf("trailers %v, %v", tr, err)
	}
}

// TestHTTPOutgoingErrors: the error-codes of a refused connection, a
// first-byte timeout, an unknown host, a redirect not followed, and a
// body dropped without finish.
func TestHTTPOutgoingErrors(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/elsewhere", http.StatusMovedPermanently)
			return
		}
		io.Copy(io.Discard, r.Body)
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	slowAddr := strings.TrimPrefix(slow.URL, "http://")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	ms := 100 * time.Millisecond

	for _, tc := range []struct {
		name string
		q    *outgoingRequest
		opts *requestOptions
		want string
	}{
		{"refused", request("GET", closed, "/", false), &requestOptions{}, "connection-refused"},
		{"first byte", request("GET", slowAddr, "/", false), &requestOptions{firstByte: &ms}, "connection-read-timeout"},
		{"DNS", request("GET", "no-such-host.invalid", "/", false), &requestOptions{}, "DNS-error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := outgoingTest(t, tc.q, tc.opts)
			if f.err == nil || f.err.code != tc.want {
				t.Errorf("error-code %v, want %s", f.err, tc.want)
			}
		})
	}
	t.Run("redirect", func(t *testing.T) {
		f := outgoingTest(t, request("GET", slowAddr, "/redirect", false), &requestOptions{})
		if f.err != nil || f.resp.status != http.StatusMovedPermanently {
			t.Errorf("redirect: %v %v", f.err, f.resp)
		}
		f.abandon()
	})
	t.Run("body dropped", func(t *testing.T) {
		q := request("POST", slowAddr, "/", true)
		q.body.pipe.write([]byte("partial"))
		q.body.pipe.abort(errBodyDropped)
		f := outgoingTest(t, q, &requestOptions{})
		if f.err == nil {
			t.Errorf("a request whose body was dropped got %d", f.resp.status)
		}
	})
	if _, ec := buildRequest(&outgoingRequest{method: "GET", headers: &httpFields{}}); ec == nil || ec.code != "HTTP-request-URI-invalid" {
		t.Errorf("a request without an authority: %v", ec)
	}
	ftp := "ftp"
	if _, ec := buildRequest(&outgoingRequest{method: "GET", scheme: &ftp, headers: &httpFields{}}); ec == nil || ec.code != "HTTP-protocol-error" {
		t.Errorf("an ftp request: %v", ec)
	}
}

// TestHTTPResponseBeforeSet: what the guest writes to a response body
// before response-outparam.set is held (up to maxEarlyBody, then the
// stream is closed) and sent when the head goes out; a body finished
// before the set gets a content-length, one finished after with
// trailers gets them.
func TestHTTPResponseBeforeSet(t *testing.T) {
	newResponse := func() (*httpRequestState, *httptest.ResponseRecorder, *outgoingResponse, *bodyStream) {
		w := httptest.NewRecorder()
		st := &httpRequestState{w: w}
		hdr, _ := fieldsFromList([]fieldEntry{{"X-Guest", []byte("1")}})
		resp := &outgoingResponse{status: 201, headers: hdr, body: &outgoingBody{sink: &responseSink{}}}
		return st, w, resp, &bodyStream{body: resp.body}
	}

	st, w, resp, s := newResponse()
	if err := s.write([]byte("early ")); err != nil {
		t.Fatal(err)
	}
	s.close()
	if err := resp.body.finish(nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.setResponse(resp); err != nil {
		t.Fatal(err)
	}
	if w.Code != 201 || w.Body.String() != "early " || w.Header().Get("Content-Length") != "6" || w.Header().Get("X-Guest") != "1" {
		t.Errorf("finished before set: %d %q %v", w.Code, w.Body, w.Header())
	}
	if _, sniffed := w.Header()["Content-Type"]; sniffed && w.Header().Get("Content-Type") != "" {
		t.Errorf("a content-type the guest did not set: %v", w.Header())
	}

	st, w, resp, s = newResponse()
	chunk := make([]byte, bodyChunk)
	written := 0
	for {
		n, err := s.checkWrite()
		if err != nil {
			break
		}
		if err := s.write(chunk[:n]); err != nil {
			t.Fatal(err)
		}
		written += int(n)
	}
	if written != maxEarlyBody {
		t.Errorf("%d bytes taken before set, want %d", written, maxEarlyBody)
	}
	if err := st.setResponse(resp); err != nil {
		t.Fatal(err)
	}
	if err := s.write([]byte("after")); err != errStreamClosed {
		t.Errorf("after the early bound, a write: %v, want the stream closed", err)
	}
	if w.Body.Len() != maxEarlyBody {
		t.Errorf("%d bytes sent at set, want %d", w.Body.Len(), maxEarlyBody)
	}

	st, w, resp, s = newResponse()
	if err := st.setResponse(resp); err != nil {
		t.Fatal(err)
	}
	if err := s.write([]byte("streamed")); err != nil {
		t.Fatal(err)
	}
	s.close()
	if err := resp.body.finish(nil, &httpFields{entries: []fieldEntry{{"x-checksum", []byte("abc")}}}); err != nil {
		t.Fatal(err)
	}
	if w.Body.String() != "streamed" || w.Result().Trailer.Get("X-Checksum") != "abc" {
		t.Errorf("after set: %q, trailers %v", w.Body, w.Result().Trailer)
	}
}

// TestHTTPCutAfterHead: once the head went out, a trap or a body left
// unfinished cuts the connection (the client sees the response end
// early), while a finished body completes it.
func TestHTTPCutAfterHead(t *testing.T) {
	sv := &server{stderr: newSharedOutput(nil)}
	for _, tc := range []struct {
		name     string
		trap     error
		finished bool
		cut      bool
	}{
		{"trap", errors.New("wasm trap: unreachable"), true, true},
		{"unfinished", nil, false, true},
		{"finished", nil, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				st := &httpRequestState{w: w}
				resp := &outgoingResponse{status: 200, headers: &httpFields{}, body: &outgoingBody{sink: &responseSink{}}}
				if err := st.setResponse(resp); err != nil {
					t.Error(err)
				}
				resp.body.sink.write([]byte("part"))
				resp.body.sink.flush()
				resp.body.finished = tc.finished
				sv.finish(st, r, tc.trap)
			}))
			defer srv.Close()
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if cut := err != nil; cut != tc.cut || string(b) != "part" {
				t.Errorf("body %q, error %v; want cut %v", b, err, tc.cut)
			}
		})
	}
}
