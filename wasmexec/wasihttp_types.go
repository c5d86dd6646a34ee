package wasmexec

// wasi:http/types at 0.2.x: every resource and function of the
// interface (jco's WIT of 0.2.12, lib/wit/builtin/0.2.12/wasi-http),
// defined on the component host. wasmtime type-checks every item a
// guest's import lists, so all of them are here, used or not, except
// response-outparam.send-informational, which is @unstable (behind a
// feature gate that no toolchain turns on, as wasmtime serve leaves it).

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const httpTypesBase = "wasi:http/types"

func init() {
	registerP2Interface(httpTypesBase, defineHTTPTypes)
	registerP2Interface("wasi:http/outgoing-handler", defineOutgoingHandler)
}

// httpTypes are the resource types of wasi:http/types as one linker
// defines them.
type httpTypes struct {
	w                                                  *p2World
	fields, incomingRequest, outgoingRequest           *resourceType
	requestOptions, responseOutparam, incomingResponse *resourceType
	incomingBody, futureTrailers, outgoingResponse     *resourceType
	outgoingBody, futureIncomingResponse               *resourceType
}

// httpTypesOf looks up the resource types of w's wasi:http/types (nil
// when the component does not import it).
func httpTypesOf(w *p2World) *httpTypes {
	rt := func(name string) *resourceType { return w.resource(httpTypesBase, name) }
	t := &httpTypes{w: w, fields: rt("fields"), incomingRequest: rt("incoming-request"),
		outgoingRequest: rt("outgoing-request"), requestOptions: rt("request-options"),
		responseOutparam: rt("response-outparam"), incomingResponse: rt("incoming-response"),
		incomingBody: rt("incoming-body"), futureTrailers: rt("future-trailers"),
		outgoingResponse: rt("outgoing-response"), outgoingBody: rt("outgoing-body"),
		futureIncomingResponse: rt("future-incoming-response")}
	if t.fields == nil {
		return nil
	}
	return t
}

// The Go objects behind the resources.

// incomingRequest is a request that net/http received.
type incomingRequest struct {
	method, pathWithQuery, scheme, authority string
	headers                                  *httpFields
	body                                     *bodySource
	consumed                                 bool
}

// incomingResponse is a response the HTTP client received.
type incomingResponse struct {
	status   int
	headers  *httpFields
	body     *bodySource
	consumed bool
}

// incomingBody is the body of either; its input-stream is taken once.
type incomingBody struct {
	src                     *bodySource
	streamTaken, streamOpen bool
}

// futureTrailers resolves when the body it came from ended.
type futureTrailers struct {
	src   *bodySource
	taken bool
}

func (f *futureTrailers) ready() <-chan struct{} { return f.src.done }

// outgoingResponse is the response the guest builds.
type outgoingResponse struct {
	status    int
	headers   *httpFields
	body      *outgoingBody
	bodyTaken bool
}

// outgoingRequest is a request the guest builds to send.
type outgoingRequest struct {
	method                   string
	pathWithQuery, authority *string
	scheme                   *string
	headers                  *httpFields
	body                     *outgoingBody
	bodyTaken                bool
}

// requestOptions are an outbound request's timeouts (nil: the default).
type requestOptions struct {
	connect, firstByte, betweenBytes *time.Duration
}

// responseOutparam is where the guest sets the response of the request
// being served.
type responseOutparam struct{ st *httpRequestState }

func defineHTTPTypes(w *p2World, name string) {
	l := w.l
	t := &httpTypes{w: w}
	res := func(rname string, destroy func(h *hostInstance, obj any) error) *resourceType {
		return l.defineResource(name, rname, destroy)
	}
	t.fields = res("fields", nil)
	t.incomingRequest = res("incoming-request", nil)
	t.outgoingRequest = res("outgoing-request", nil)
	t.requestOptions = res("request-options", nil)
	t.responseOutparam = res("response-outparam", nil)
	t.incomingResponse = res("incoming-response", func(h *hostInstance, obj any) error {
		if r := obj.(*incomingResponse); !r.consumed {
			r.body.close()
		}
		return nil
	})
	t.incomingBody = res("incoming-body", func(h *hostInstance, obj any) error {
		b := obj.(*incomingBody)
		b.src.close()
		if b.streamOpen {
			return fmt.Errorf("%s: incoming-body dropped while its input-stream is alive", name)
		}
		return nil
	})
	t.futureTrailers = res("future-trailers", func(h *hostInstance, obj any) error {
		obj.(*futureTrailers).src.close()
		return nil
	})
	t.outgoingResponse = res("outgoing-response", nil)
	t.outgoingBody = res("outgoing-body", func(h *hostInstance, obj any) error {
		b := obj.(*outgoingBody)
		if b.finished {
			return nil
		}
		if st, ok := h.data.(*httpRequestState); ok && st.returned && b.sink != nil {
			// handle returned (no trap) with the response body neither
			// finished nor dropped: the instance's end finishes it.
			// StarlingMonkey's fetch-event glue answers an exception
			// with a 500 that it never finishes; jco serve sends it
			// whole, and so does this host.
			b.finished = true
			return nil
		}
		// Dropped without finish: the body is cut (the response's
		// connection, the outbound request), as the WIT says.
		b.aborted = true
		if b.pipe != nil {
			b.pipe.abort(errBodyDropped)
		}
		if b.streamOpen {
			return fmt.Errorf("%s: outgoing-body dropped while its output-stream is alive", name)
		}
		return nil
	})
	t.futureIncomingResponse = res("future-incoming-response", func(h *hostInstance, obj any) error {
		obj.(*futureResponse).abandon()
		return nil
	})

	def := func(fn string, f hostFunc) { l.defineFunc(name, fn, f) }
	t.defineFields(def)
	t.defineIncoming(def)
	t.defineOutgoing(def)
	t.defineOptions(def)
	t.defineFutures(def)
	def("http-error-code", func(h *hostInstance, p, r []cval) error {
		r[0] = valNone()
		rt := w.resource("wasi:io/error", "error")
		if rt == nil {
			return nil
		}
		obj, err := h.get(p[0].Resource(), rt)
		if err != nil {
			return err
		}
		if e, ok := obj.(error); ok {
			if ec := errorCodeOfNet(e); ec != nil {
				r[0] = valSome(ec.val())
			}
		}
		return nil
	})
}

var errBodyDropped = fmt.Errorf("the outgoing-body was dropped without finish")

type defFunc func(fn string, f hostFunc)

// getAs returns the object of type T behind the handle p of type rt.
func getAs[T any](h *hostInstance, p cval, rt *resourceType) (T, error) {
	obj, err := h.get(p.Resource(), rt)
	if err != nil {
		var zero T
		return zero, err
	}
	return obj.(T), nil
}

// onResource is f as a hostFunc of a method: it gets f the object of
// type T behind the handle in p[0], of resource type rt.
func onResource[T any](rt *resourceType, f func(h *hostInstance, obj T, p, r []cval) error) hostFunc {
	return func(h *hostInstance, p, r []cval) error {
		obj, err := getAs[T](h, p[0], rt)
		if err != nil {
			return err
		}
		return f(h, obj, p, r)
	}
}

// method defines the method fn of resource type rt: f gets the object
// behind the handle in p[0], the other parameters, and returns the result.
func method[T any](def defFunc, fn string, rt *resourceType, f func(h *hostInstance, obj T, p []cval) cval) {
	def(fn, onResource(rt, func(h *hostInstance, obj T, p, r []cval) error {
		r[0] = f(h, obj, p)
		return nil
	}))
}

func takeAs[T any](h *hostInstance, p cval, rt *resourceType) (T, error) {
	obj, err := h.take(p.Resource(), rt)
	if err != nil {
		var zero T
		return zero, err
	}
	return obj.(T), nil
}

func (t *httpTypes) defineFields(def defFunc) {
	def("[constructor]fields", func(h *hostInstance, p, r []cval) error {
		r[0] = h.own(t.fields, &httpFields{})
		return nil
	})
	def("[static]fields.from-list", func(h *hostInstance, p, r []cval) error {
		list := p[0].Elems()
		if len(list) > maxFieldEntries {
			r[0] = valErr(valVariant("invalid-syntax"))
			return nil
		}
		entries := make([]fieldEntry, len(list))
		for i, e := range list {
			kv := e.Elems()
			entries[i] = fieldEntry{name: kv[0].Str(), value: kv[1].Bytes()}
		}
		f, err := fieldsFromList(entries)
		if err != nil {
			r[0] = valErr(headerErrorVal(err))
			return nil
		}
		r[0] = valOk(h.own(t.fields, f))
		return nil
	})
	method(def, "[method]fields.get", t.fields, func(_ *hostInstance, f *httpFields, p []cval) cval {
		values := f.get(p[1].Str())
		out := make([]cval, len(values))
		for i, v := range values {
			out[i] = valBytes(v)
		}
		return valList(out...)
	})
	method(def, "[method]fields.has", t.fields, func(_ *hostInstance, f *httpFields, p []cval) cval {
		return valBool(f.has(p[1].Str()))
	})
	method(def, "[method]fields.set", t.fields, func(_ *hostInstance, f *httpFields, p []cval) cval {
		list := p[2].Elems()
		if len(list) > maxFieldEntries {
			return headerResult(errHeaderSyntax)
		}
		values := make([][]byte, len(list))
		for i, v := range list {
			values[i] = v.Bytes()
		}
		return headerResult(f.set(p[1].Str(), values))
	})
	method(def, "[method]fields.delete", t.fields, func(_ *hostInstance, f *httpFields, p []cval) cval {
		return headerResult(f.delete(p[1].Str()))
	})
	method(def, "[method]fields.append", t.fields, func(_ *hostInstance, f *httpFields, p []cval) cval {
		return headerResult(f.append(p[1].Str(), p[2].Bytes()))
	})
	method(def, "[method]fields.entries", t.fields, func(_ *hostInstance, f *httpFields, _ []cval) cval {
		entries := f.list()
		out := make([]cval, len(entries))
		for i, e := range entries {
			out[i] = valTuple(valString(e.name), valBytes(e.value))
		}
		return valList(out...)
	})
	method(def, "[method]fields.clone", t.fields, func(h *hostInstance, f *httpFields, _ []cval) cval {
		return h.own(t.fields, f.clone())
	})
}

// optString is option<string> of s (none if nil).
func optString(s *string) cval {
	if s == nil {
		return valNone()
	}
	return valSome(valString(*s))
}

func (t *httpTypes) defineIncoming(def defFunc) {
	method(def, "[method]incoming-request.method", t.incomingRequest, func(_ *hostInstance, q *incomingRequest, _ []cval) cval {
		return valMethod(q.method)
	})
	method(def, "[method]incoming-request.path-with-query", t.incomingRequest, func(_ *hostInstance, q *incomingRequest, _ []cval) cval {
		return valSome(valString(q.pathWithQuery))
	})
	method(def, "[method]incoming-request.scheme", t.incomingRequest, func(_ *hostInstance, q *incomingRequest, _ []cval) cval {
		return valSome(valScheme(q.scheme))
	})
	method(def, "[method]incoming-request.authority", t.incomingRequest, func(_ *hostInstance, q *incomingRequest, _ []cval) cval {
		if q.authority == "" {
			return valNone()
		}
		return valSome(valString(q.authority))
	})
	method(def, "[method]incoming-request.headers", t.incomingRequest, func(h *hostInstance, q *incomingRequest, _ []cval) cval {
		return h.own(t.fields, q.headers)
	})
	method(def, "[method]incoming-request.consume", t.incomingRequest, func(h *hostInstance, q *incomingRequest, _ []cval) cval {
		return t.consume(h, &q.consumed, q.body)
	})

	method(def, "[method]incoming-response.status", t.incomingResponse, func(_ *hostInstance, q *incomingResponse, _ []cval) cval {
		return valU16(uint16(q.status))
	})
	method(def, "[method]incoming-response.headers", t.incomingResponse, func(h *hostInstance, q *incomingResponse, _ []cval) cval {
		return h.own(t.fields, q.headers)
	})
	method(def, "[method]incoming-response.consume", t.incomingResponse, func(h *hostInstance, q *incomingResponse, _ []cval) cval {
		return t.consume(h, &q.consumed, q.body)
	})

	method(def, "[method]incoming-body.stream", t.incomingBody, func(h *hostInstance, b *incomingBody, _ []cval) cval {
		if b.streamTaken {
			return valErr()
		}
		b.streamTaken, b.streamOpen = true, true
		s := newReaderStream(b.src, func() error { b.streamOpen = false; return nil })
		return valOk(h.newInputStream(t.w, s))
	})
	def("[static]incoming-body.finish", func(h *hostInstance, p, r []cval) error {
		b, err := takeAs[*incomingBody](h, p[0], t.incomingBody)
		if err != nil {
			return err
		}
		if b.streamOpen {
			return fmt.Errorf("incoming-body.finish: its input-stream is alive")
		}
		b.src.drain()
		r[0] = h.own(t.futureTrailers, &futureTrailers{src: b.src})
		return nil
	})
	method(def, "[method]future-trailers.subscribe", t.futureTrailers, func(h *hostInstance, f *futureTrailers, _ []cval) cval {
		return h.newPollable(t.w, f)
	})
	// get: option<result<result<option<trailers>, error-code>>>.
	method(def, "[method]future-trailers.get", t.futureTrailers, func(h *hostInstance, f *futureTrailers, _ []cval) cval {
		select {
		case <-f.src.done:
		default:
			return valNone()
		}
		if f.taken {
			return valSome(valErr())
		}
		f.taken = true
		trailer, err := f.src.result()
		switch {
		case err != nil:
			return valSome(valOk(valErr(errorCodeOfBody(err).val())))
		case len(trailer) == 0:
			return valSome(valOk(valOk(valNone())))
		}
		fl, err := fieldsFromHeader(trailer)
		if err != nil {
			return valSome(valOk(valErr(errorCode("HTTP-protocol-error", "trailer name").val())))
		}
		return valSome(valOk(valOk(valSome(h.own(t.fields, fl)))))
	})
}

// consume is the body of an incoming request or response: the first
// call takes it, a later one is an error.
func (t *httpTypes) consume(h *hostInstance, consumed *bool, body *bodySource) cval {
	if *consumed {
		return valErr()
	}
	*consumed = true
	return valOk(h.own(t.incomingBody, &incomingBody{src: body}))
}

// errorCodeOfBody is the error-code of a body that failed.
func errorCodeOfBody(err error) *httpErrorCode {
	if ec := errorCodeOfNet(err); ec != nil {
		return ec
	}
	if err == io.ErrUnexpectedEOF {
		return errorCode("HTTP-response-incomplete", err.Error())
	}
	return internalError(err.Error())
}

func (t *httpTypes) defineOutgoing(def defFunc) {
	def("[constructor]outgoing-response", func(h *hostInstance, p, r []cval) error {
		f, err := takeAs[*httpFields](h, p[0], t.fields)
		if err != nil {
			return err
		}
		f.immutable = true
		r[0] = h.own(t.outgoingResponse, &outgoingResponse{status: http.StatusOK, headers: f})
		return nil
	})
	method(def, "[method]outgoing-response.status-code", t.outgoingResponse, func(_ *hostInstance, o *outgoingResponse, _ []cval) cval {
		return valU16(uint16(o.status))
	})
	method(def, "[method]outgoing-response.set-status-code", t.outgoingResponse, func(_ *hostInstance, o *outgoingResponse, p []cval) cval {
		// A final status: net/http sends 1xx as informational, and
		// refuses codes outside 100..999.
		code := int(p[1].U16())
		if code < 200 || code > 999 {
			return valErr()
		}
		o.status = code
		return valOk()
	})
	method(def, "[method]outgoing-response.headers", t.outgoingResponse, func(h *hostInstance, o *outgoingResponse, _ []cval) cval {
		return h.own(t.fields, o.headers)
	})
	method(def, "[method]outgoing-response.body", t.outgoingResponse, func(h *hostInstance, o *outgoingResponse, _ []cval) cval {
		if o.bodyTaken {
			return valErr()
		}
		o.bodyTaken = true
		o.body = &outgoingBody{sink: &responseSink{}}
		return valOk(h.own(t.outgoingBody, o.body))
	})
	method(def, "[method]outgoing-body.write", t.outgoingBody, func(h *hostInstance, b *outgoingBody, _ []cval) cval {
		if b.streamTaken {
			return valErr()
		}
		b.streamTaken, b.streamOpen = true, true
		return valOk(h.newOutputStream(t.w, &bodyStream{body: b}))
	})
	def("[static]outgoing-body.finish", func(h *hostInstance, p, r []cval) error {
		b, err := takeAs[*outgoingBody](h, p[0], t.outgoingBody)
		if err != nil {
			return err
		}
		if b.streamOpen {
			return fmt.Errorf("outgoing-body.finish: its output-stream is alive")
		}
		var trailers *httpFields
		if tr, ok := p[1].Payload(); ok {
			if trailers, err = takeAs[*httpFields](h, tr, t.fields); err != nil {
				return err
			}
		}
		r[0] = valOk()
		if err := b.finish(h, trailers); err != nil {
			r[0] = valErr(errorCodeOf(err).val())
		}
		return nil
	})
	def("[static]response-outparam.set", func(h *hostInstance, p, r []cval) error {
		o, err := takeAs[*responseOutparam](h, p[0], t.responseOutparam)
		if err != nil {
			return err
		}
		res := p[1]
		payload, _ := res.Payload()
		if !res.IsOk() {
			return o.st.setError(errorCodeFromVal(payload))
		}
		resp, err := takeAs[*outgoingResponse](h, payload, t.outgoingResponse)
		if err != nil {
			return err
		}
		return o.st.setResponse(resp)
	})

	def("[constructor]outgoing-request", func(h *hostInstance, p, r []cval) error {
		f, err := takeAs[*httpFields](h, p[0], t.fields)
		if err != nil {
			return err
		}
		f.immutable = true
		r[0] = h.own(t.outgoingRequest, &outgoingRequest{method: http.MethodGet, headers: f})
		return nil
	})
	method(def, "[method]outgoing-request.body", t.outgoingRequest, func(h *hostInstance, q *outgoingRequest, _ []cval) cval {
		if q.bodyTaken {
			return valErr()
		}
		q.bodyTaken = true
		q.body = &outgoingBody{pipe: newBodyPipe(), reqTrailer: http.Header{}}
		if st, ok := h.data.(*httpRequestState); ok {
			// A guest that fills the pipe before it sends the request
			// waits for room that never comes: the end of the request
			// it serves (the client went away, the server stopped)
			// closes the pipe and wakes it.
			context.AfterFunc(st.ctx, func() { q.body.pipe.closeRead(context.Cause(st.ctx)) })
		}
		return valOk(h.own(t.outgoingBody, q.body))
	})
	method(def, "[method]outgoing-request.method", t.outgoingRequest, func(_ *hostInstance, q *outgoingRequest, _ []cval) cval {
		return valMethod(q.method)
	})
	method(def, "[method]outgoing-request.set-method", t.outgoingRequest, func(_ *hostInstance, q *outgoingRequest, p []cval) cval {
		m, err := methodOf(p[1])
		if err != nil {
			return valErr()
		}
		q.method = m
		return valOk()
	})
	method(def, "[method]outgoing-request.path-with-query", t.outgoingRequest, func(_ *hostInstance, q *outgoingRequest, _ []cval) cval {
		return optString(q.pathWithQuery)
	})
	method(def, "[method]outgoing-request.set-path-with-query", t.outgoingRequest, func(_ *hostInstance, q *outgoingRequest, p []cval) cval {
		return setOptString(p[1], validPathWithQuery, &q.pathWithQuery)
	})
	method(def, "[method]outgoing-request.scheme", t.outgoingRequest, func(_ *hostInstance, q *outgoingRequest, _ []cval) cval {
		if q.scheme == nil {
			return valNone()
		}
		return valSome(valScheme(*q.scheme))
	})
	method(def, "[method]outgoing-request.set-scheme", t.outgoingRequest, func(_ *hostInstance, q *outgoingRequest, p []cval) cval {
		v, some := p[1].Payload()
		if !some {
			q.scheme = nil
			return valOk()
		}
		s, err := schemeOf(v)
		if err != nil {
			return valErr()
		}
		q.scheme = &s
		return valOk()
	})
	method(def, "[method]outgoing-request.authority", t.outgoingRequest, func(_ *hostInstance, q *outgoingRequest, _ []cval) cval {
		return optString(q.authority)
	})
	method(def, "[method]outgoing-request.set-authority", t.outgoingRequest, func(_ *hostInstance, q *outgoingRequest, p []cval) cval {
		return setOptString(p[1], validAuthority, &q.authority)
	})
	method(def, "[method]outgoing-request.headers", t.outgoingRequest, func(h *hostInstance, q *outgoingRequest, _ []cval) cval {
		return h.own(t.fields, q.headers)
	})
}

// setOptString sets *field to the option<string> v if valid takes it.
func setOptString(v cval, valid func(string) bool, field **string) cval {
	s, some := v.Payload()
	if !some {
		*field = nil
		return valOk()
	}
	str := s.Str()
	if !valid(str) {
		return valErr()
	}
	*field = &str
	return valOk()
}

func (t *httpTypes) defineOptions(def defFunc) {
	def("[constructor]request-options", func(h *hostInstance, p, r []cval) error {
		r[0] = h.own(t.requestOptions, &requestOptions{})
		return nil
	})
	for _, o := range []struct {
		name  string
		field func(*requestOptions) **time.Duration
	}{
		{"connect-timeout", func(o *requestOptions) **time.Duration { return &o.connect }},
		{"first-byte-timeout", func(o *requestOptions) **time.Duration { return &o.firstByte }},
		{"between-bytes-timeout", func(o *requestOptions) **time.Duration { return &o.betweenBytes }},
	} {
		method(def, "[method]request-options."+o.name, t.requestOptions, func(_ *hostInstance, ro *requestOptions, _ []cval) cval {
			if d := *o.field(ro); d != nil {
				return valSome(valU64(uint64(*d)))
			}
			return valNone()
		})
		method(def, "[method]request-options.set-"+o.name, t.requestOptions, func(_ *hostInstance, ro *requestOptions, p []cval) cval {
			v, some := p[1].Payload()
			if !some {
				*o.field(ro) = nil
				return valOk()
			}
			ns := v.U64()
			if ns > uint64(maxRequestTimeout) {
				return valErr()
			}
			d := time.Duration(ns)
			*o.field(ro) = &d
			return valOk()
		})
	}
}

// maxRequestTimeout bounds a timeout the guest may ask for (a duration
// is u64 nanoseconds; time.Duration is signed).
const maxRequestTimeout = 24 * time.Hour

func (t *httpTypes) defineFutures(def defFunc) {
	method(def, "[method]future-incoming-response.subscribe", t.futureIncomingResponse, func(h *hostInstance, f *futureResponse, _ []cval) cval {
		return h.newPollable(t.w, f)
	})
	// get: option<result<result<incoming-response, error-code>>>.
	method(def, "[method]future-incoming-response.get", t.futureIncomingResponse, func(h *hostInstance, f *futureResponse, _ []cval) cval {
		select {
		case <-f.done:
		default:
			return valNone()
		}
		if f.taken {
			return valSome(valErr())
		}
		f.taken = true
		if f.err != nil {
			return valSome(valOk(valErr(f.err.val())))
		}
		return valSome(valOk(valOk(h.own(t.incomingResponse, f.resp))))
	})
}

// errorCodeFromVal reads an error-code the guest passed (to
// response-outparam.set), for the log.
func errorCodeFromVal(v cval) *httpErrorCode {
	ec := &httpErrorCode{code: v.Case()}
	if p, ok := v.Payload(); ok {
		ec.payload = []cval{p}
		if p.Kind() == kindOption && p.IsSome() {
			if s, _ := p.Payload(); s.Kind() == kindString {
				ec.msg = s.Str()
			}
		}
	}
	return ec
}

// finish ends an outgoing body with trailers (may be nil).
func (b *outgoingBody) finish(h *hostInstance, trailers *httpFields) error {
	b.finished = true
	b.trailers = trailers
	var hdr http.Header
	if trailers != nil {
		hdr = trailers.header()
	}
	if b.pipe != nil {
		b.pipe.finish(hdr, b.reqTrailer)
		return nil
	}
	if b.sink.started {
		return b.sink.finish(hdr, b.written)
	}
	return nil
}

// finish sends the trailers of a response whose head went out, and
// checks the body against its content-length.
func (s *responseSink) finish(trailer http.Header, written int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	for k, v := range trailer {
		s.w.Header()[http.TrailerPrefix+k] = v
	}
	if cl := s.w.Header().Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(strings.TrimSpace(cl), 10, 64); err == nil && n != written {
			return &httpErrorCode{code: "HTTP-response-body-size", payload: []cval{valSome(valU64(uint64(written)))},
				msg: fmt.Sprintf("content-length %d, body %d bytes", n, written)}
		}
	}
	return nil
}
