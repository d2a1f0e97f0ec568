package inquiry

import (
	"errors"
	"fmt"
	"strings"
)

// Error kinds: what went wrong, for metrics and for deciding who must act.
const (
	KindHTTPStatus = "http_status" // Eko (or a proxy) answered with a status we cannot use
	KindTimeout    = "timeout"     // no complete answer within the per-call timeout
	KindNetwork    = "network"     // connection failed or broke
	KindGarbage    = "garbage"     // a 2xx whose body is not Eko's JSON envelope
	KindSignature  = "signature"   // 403: developer_key / secret-key / timestamp rejected
	KindEkoError   = "eko_error"   // a 2xx envelope with a non-zero status that is not "not found"
)

// Error is a failed inquiry. It never holds the developer key, the secret-key or response body
// text: only numbers Eko sent and transport errors stripped of the request URL.
type Error struct {
	Op         string // e.g. "inquire <client_ref_id>"
	HTTPStatus int    // 0 when no response status was received
	Retryable  bool   // asking again later (with a fresh signature) may succeed
	Kind       string // one of the Kind* constants
	Err        error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("ekoapi: ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(e.Kind)
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.HTTPStatus)
	}
	if e.Retryable {
		b.WriteString(", retryable")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// IsRetryable reports whether err (or an error it wraps) is an *Error worth retrying. Context
// cancellation by the caller and bad input are not.
func IsRetryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable
}

// statusDetail describes an unusable response by Eko's numeric codes only: message text is
// neither stable nor ours to echo into logs.
func statusDetail(body []byte) error {
	env, err := decodeEnvelope(body)
	if err != nil || !env.Status.set {
		return fmt.Errorf("unexpected response (%d-byte body, not Eko's envelope)", len(body))
	}
	return fmt.Errorf("unexpected response (eko status %s, response_status_id %s)",
		env.Status.v, orNone(env.ResponseStatusID.v))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
