package wasmexec

// Conversions between wasi:http's WIT types and Go: method, scheme,
// error-code, header-error.

import (
	"errors"
	"strings"
)

// wasiMethods are the cases of the method variant with no payload, in
// order; any other method is other(string).
var wasiMethods = []string{"get", "head", "post", "put", "delete", "connect", "options", "trace", "patch"}

// valMethod is the method variant of an HTTP method (a token: ASCII).
func valMethod(m string) cval {
	lower := strings.ToLower(m)
	for _, name := range wasiMethods {
		if lower == name && m == strings.ToUpper(m) {
			return valVariant(name)
		}
	}
	return valVariant("other", valString(m))
}

// methodOf reads a method variant; other(s) must be a token.
func methodOf(v cval) (string, error) {
	c := v.Case()
	if c != "other" {
		return strings.ToUpper(c), nil
	}
	p, _ := v.Payload()
	m := p.Str()
	if !validFieldName(m) { // a method is a token, as a field name is
		return "", errors.New("invalid method")
	}
	return m, nil
}

// valScheme is the scheme variant of a scheme.
func valScheme(s string) cval {
	switch strings.ToLower(s) {
	case "http":
		return valVariant("HTTP")
	case "https":
		return valVariant("HTTPS")
	}
	return valVariant("other", valString(s))
}

// schemeOf reads a scheme variant; other(s) must be an RFC 3986 scheme.
func schemeOf(v cval) (string, error) {
	switch v.Case() {
	case "HTTP":
		return "http", nil
	case "HTTPS":
		return "https", nil
	}
	p, _ := v.Payload()
	s := p.Str()
	if !validScheme(s) {
		return "", errors.New("invalid scheme")
	}
	return s, nil
}

func validScheme(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alpha && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// validPathWithQuery accepts what HTTP/1.1 can carry as an origin-form
// request target: visible ASCII, starting with '/' (or "*"), at most
// 64 KiB. Percent-encoding is the guest's business.
func validPathWithQuery(s string) bool {
	if s == "*" {
		return true
	}
	if s == "" || s[0] != '/' || len(s) > 64<<10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// validAuthority accepts host[:port] (and userinfo@, as RFC 3986 does):
// visible ASCII without the characters that would end an authority.
func validAuthority(s string) bool {
	if s == "" || len(s) > 1024 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("/?#\\\"<>`{}|^", c) >= 0 {
			return false
		}
	}
	return true
}

// headerErrorVal is the header-error variant of a fields error.
func headerErrorVal(err error) cval {
	switch {
	case errors.Is(err, errHeaderForbidden):
		return valVariant("forbidden")
	case errors.Is(err, errHeaderImmutable):
		return valVariant("immutable")
	}
	return valVariant("invalid-syntax")
}

// headerResult is result<_, header-error>.
func headerResult(err error) cval {
	if err != nil {
		return valErr(headerErrorVal(err))
	}
	return valOk()
}

// httpErrorCode is an error that carries a wasi:http error-code: the
// variant's case and its payload, if the case has one.
type httpErrorCode struct {
	code    string
	payload []cval
	msg     string
}

func (e *httpErrorCode) Error() string {
	if e.msg != "" {
		return e.code + ": " + e.msg
	}
	return e.code
}

func (e *httpErrorCode) val() cval { return valVariant(e.code, e.payload...) }

// errorCode is an error-code case without a payload.
func errorCode(code, msg string) *httpErrorCode { return &httpErrorCode{code: code, msg: msg} }

// internalError is error-code internal-error(some(msg)).
func internalError(msg string) *httpErrorCode {
	return &httpErrorCode{code: "internal-error", payload: []cval{valSome(valString(validText(msg)))}, msg: msg}
}

// dnsError is error-code DNS-error with the resolver's message as rcode.
func dnsError(rcode string) *httpErrorCode {
	return &httpErrorCode{code: "DNS-error", msg: rcode, payload: []cval{valRecord(
		field{"rcode", valSome(valString(validText(rcode)))},
		field{"info-code", valNone()},
	)}}
}

// errorCodeOf is the error-code of err: its own if it carries one,
// else internal-error with its message.
func errorCodeOf(err error) *httpErrorCode {
	var ec *httpErrorCode
	if errors.As(err, &ec) {
		return ec
	}
	return internalError(err.Error())
}
