package wasmexec

// wasi:http/outgoing-handler: the guest's outbound HTTP/1.1 requests,
// sent with net/http on a goroutine of their own while the guest polls
// the future-incoming-response.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The defaults of request-options, as wasmtime's (600 s each).
const (
	defaultConnectTimeout      = 600 * time.Second
	defaultFirstByteTimeout    = 600 * time.Second
	defaultBetweenBytesTimeout = 600 * time.Second
)

// newHTTPClient is the client of one server process: HTTP/1.1, no proxy
// from the environment (the guest names its destination), no redirects
// followed (the guest gets the 3xx it asked for), no transparent gzip
// (the guest sees the bytes the server sent), the timeouts of each
// request's options.
func newHTTPClient() *http.Client {
	dialer := &net.Dialer{KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			d := defaultConnectTimeout
			if o, ok := ctx.Value(requestOptionsKey{}).(*requestOptions); ok && o.connect != nil {
				d = *o.connect
			}
			ctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			conn, err := dialer.DialContext(ctx, network, addr)
			if err != nil && ctx.Err() == context.DeadlineExceeded {
				return nil, errorCode("connection-timeout", err.Error())
			}
			return conn, err
		},
		ForceAttemptHTTP2:   false,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		DisableCompression:  true,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type requestOptionsKey struct{}

// futureResponse is the object behind a future-incoming-response: done
// is closed when the client has the response head (resp) or failed
// (err).
type futureResponse struct {
	done   chan struct{}
	resp   *incomingResponse
	err    *httpErrorCode
	cancel context.CancelCauseFunc

	taken bool

	mu        sync.Mutex // guards abandoned against the goroutine's completion
	abandoned bool
}

func (f *futureResponse) ready() <-chan struct{} { return f.done }

// abandon: the guest dropped the future. Unless it took the response
// (whose body it may still be reading), the request stops, and a
// response that arrives (or arrived, untaken) is closed.
func (f *futureResponse) abandon() {
	if f.taken {
		return
	}
	f.cancel(errors.New("the future-incoming-response was dropped"))
	f.mu.Lock()
	f.abandoned = true
	f.mu.Unlock()
	select {
	case <-f.done:
		if !f.taken && f.resp != nil {
			f.resp.body.close()
		}
	default:
	}
}

func (f *futureResponse) complete(resp *incomingResponse, err *httpErrorCode) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resp, f.err = resp, err
	close(f.done)
	if f.abandoned && resp != nil {
		resp.body.close()
	}
}

func defineOutgoingHandler(w *p2World, name string) {
	w.l.defineFunc(name, "handle", func(h *hostInstance, p, r []cval) error {
		t := httpTypesOf(w)
		if t == nil {
			return errors.New("wasi:http/outgoing-handler: wasi:http/types is not imported")
		}
		req, err := takeAs[*outgoingRequest](h, p[0], t.outgoingRequest)
		if err != nil {
			return err
		}
		opts := &requestOptions{}
		if o, ok := p[1].Payload(); ok {
			if opts, err = takeAs[*requestOptions](h, o, t.requestOptions); err != nil {
				return err
			}
		}
		st, ok := h.data.(*httpRequestState)
		if !ok {
			return fmt.Errorf("wasi:http/outgoing-handler: instance data %T is not a request's", h.data)
		}
		f, ec := st.send(req, opts)
		if ec != nil {
			r[0] = valErr(ec.val())
			return nil
		}
		r[0] = valOk(h.own(t.futureIncomingResponse, f))
		return nil
	})
}

// send starts the guest's request on its own goroutine.
func (st *httpRequestState) send(q *outgoingRequest, opts *requestOptions) (*futureResponse, *httpErrorCode) {
	hreq, ec := buildRequest(q)
	if ec != nil {
		return nil, ec
	}
	ctx, cancel := context.WithCancelCause(context.WithValue(st.ctx, requestOptionsKey{}, opts))
	f := &futureResponse{done: make(chan struct{}), cancel: cancel}
	firstByte := defaultFirstByteTimeout
	if opts.firstByte != nil {
		firstByte = *opts.firstByte
	}
	var timer *time.Timer
	var timerMu sync.Mutex
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) {
			timerMu.Lock()
			defer timerMu.Unlock()
			timer = time.AfterFunc(firstByte, func() {
				cancel(errorCode("connection-read-timeout", "no response within the first-byte timeout"))
			})
		},
		GotFirstResponseByte: func() {
			timerMu.Lock()
			defer timerMu.Unlock()
			if timer != nil {
				timer.Stop()
			}
		},
	})
	hreq = hreq.WithContext(ctx)
	between := defaultBetweenBytesTimeout
	if opts.betweenBytes != nil {
		between = *opts.betweenBytes
	}
	go func() {
		resp, err := st.proxy.client.Do(hreq)
		if err != nil {
			if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
				err = cause
			}
			if q.body != nil {
				q.body.pipe.closeRead(err)
			}
			f.complete(nil, errorCodeOfRequest(err))
			return
		}
		headers, herr := fieldsFromHeader(resp.Header)
		if herr != nil {
			resp.Body.Close()
			f.complete(nil, errorCode("HTTP-protocol-error", "a response header name is not a token"))
			return
		}
		body := &timeoutReader{r: resp.Body, d: between, cancel: cancel}
		f.complete(&incomingResponse{status: resp.StatusCode, headers: headers,
			body: newBodySource(body, body.Close, func() http.Header { return resp.Trailer })}, nil)
	}()
	return f, nil
}

// buildRequest makes the net/http request of the guest's.
func buildRequest(q *outgoingRequest) (*http.Request, *httpErrorCode) {
	scheme := "https"
	if q.scheme != nil {
		scheme = strings.ToLower(*q.scheme)
	}
	if scheme != "http" && scheme != "https" {
		return nil, errorCode("HTTP-protocol-error", "scheme "+scheme)
	}
	if q.authority == nil || *q.authority == "" {
		return nil, errorCode("HTTP-request-URI-invalid", "no authority")
	}
	path := "/"
	if q.pathWithQuery != nil {
		path = *q.pathWithQuery
	}
	hreq, err := http.NewRequest(q.method, scheme+"://"+*q.authority+path, nil)
	if err != nil {
		return nil, errorCode("HTTP-request-URI-invalid", err.Error())
	}
	hreq.Header = q.headers.header()
	// The guest's headers and nothing else: no default User-Agent.
	if _, ok := hreq.Header["User-Agent"]; !ok {
		hreq.Header["User-Agent"] = []string{""}
	}
	if q.body != nil {
		hreq.Body = q.body.pipe
		hreq.ContentLength = -1
		hreq.Trailer = q.body.reqTrailer
		if cl := hreq.Header.Get("Content-Length"); cl != "" {
			n, err := strconv.ParseInt(strings.TrimSpace(cl), 10, 64)
			if err != nil || n < 0 {
				return nil, errorCode("HTTP-request-denied", "content-length "+cl)
			}
			hreq.ContentLength = n
			if n == 0 {
				hreq.Body = http.NoBody
			}
		}
	}
	return hreq, nil
}

// timeoutReader fails a read that waits longer than d for its bytes
// (between-bytes-timeout) by cancelling the request.
type timeoutReader struct {
	r      io.ReadCloser
	d      time.Duration
	cancel context.CancelCauseFunc
}

func (t *timeoutReader) Read(p []byte) (int, error) {
	timer := time.AfterFunc(t.d, func() {
		t.cancel(errorCode("connection-read-timeout", "no bytes within the between-bytes timeout"))
	})
	n, err := t.r.Read(p)
	if !timer.Stop() && err != nil {
		return n, errorCode("connection-read-timeout", "no bytes within the between-bytes timeout")
	}
	return n, err
}

func (t *timeoutReader) Close() error {
	t.cancel(errors.New("body closed"))
	return t.r.Close()
}

// errorCodeOfRequest maps a failed request to an error-code.
func errorCodeOfRequest(err error) *httpErrorCode {
	if ec := errorCodeOfNet(err); ec != nil {
		return ec
	}
	return internalError(err.Error())
}

// errorCodeOfNet maps the network errors it knows to an error-code; nil
// for others.
func errorCodeOfNet(err error) *httpErrorCode {
	var ec *httpErrorCode
	var dns *net.DNSError
	var cert *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var recordHeader tls.RecordHeaderError
	var alert tls.AlertError
	switch {
	case errors.As(err, &ec):
		return ec
	case errors.As(err, &dns):
		if dns.IsTimeout {
			return errorCode("DNS-timeout", dns.Error())
		}
		return dnsError(dns.Err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return errorCode("connection-refused", err.Error())
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return errorCode("connection-terminated", err.Error())
	case errors.Is(err, syscall.EHOSTUNREACH):
		return errorCode("destination-unavailable", err.Error())
	case errors.Is(err, syscall.ENETUNREACH):
		return errorCode("destination-IP-unroutable", err.Error())
	case errors.As(err, &cert), errors.As(err, &unknownAuth), errors.As(err, &hostname):
		return errorCode("TLS-certificate-error", err.Error())
	case errors.As(err, &alert):
		return &httpErrorCode{code: "TLS-alert-received", msg: err.Error(), payload: []cval{valRecord(
			field{"alert-id", valSome(valU8(uint8(alert)))},
			field{"alert-message", valSome(valString(validText(alert.Error())))},
		)}}
	case errors.As(err, &recordHeader):
		return errorCode("TLS-protocol-error", err.Error())
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return errorCode("connection-timeout", err.Error())
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errorCode("HTTP-response-incomplete", err.Error())
	}
	return nil
}
