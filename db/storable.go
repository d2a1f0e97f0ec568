package db

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aepsflow/aepsflow/redact"
)

// What is written to a text or jsonb column from a request must be fit to store:
//   - no full Aadhaar number: a request's text (a message, a status, a header, an error quoting
//     a value) may carry one anywhere, so every such value goes through redact, as raw bodies do;
//   - only what PostgreSQL takes: text refuses NUL and invalid UTF-8, jsonb \u0000 too. A
//     request's free text must never make its record fail; the exact bytes of the request (its
//     Aadhaar numbers masked) are in inbound_requests.body (bytea), so the columns hold a
//     storable copy, with U+FFFD for what cannot be stored.

// storable returns free text s with full Aadhaar numbers masked (bare 12-digit ones too) and
// invalid UTF-8 and NUL replaced by U+FFFD.
func storable(s string) string { return storableKey(redact.Text(s)) }

// storableRef is storable for a reported reference (Eko's tid and bank_ref_num, the partner's
// rrn): a bare 12-digit number is kept exact, since an RRN is one and reconciliation needs it;
// a written number (2345 6789 0124) or an Aadhaar key in it is still masked.
func storableRef(s string) string { return storableKey(redact.TextKeepingBare(s)) }

// storableKey returns s with invalid UTF-8 and NUL replaced by U+FFFD, and nothing masked: for
// a reference, which must match the transaction's exactly (the parsers keep them printable).
func storableKey(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// storableJSON returns a JSON document of request text (a response, headers, an event's
// details) as a jsonb argument (a string: binary_parameters needs that), with full Aadhaar
// numbers masked (redact.Document), and fit for jsonb (validJSON).
func storableJSON(doc []byte) (string, error) {
	doc, _ = redact.Document(doc)
	return validJSON(doc)
}

// validJSON returns doc as a jsonb argument, with nothing masked: for an outbox payload, which
// carries the workflow's input (its references must stay exact; its free text, a tx_status or a
// partner status, is masked where the API builds it). One holding \u0000 or invalid UTF-8 is
// re-encoded with U+FFFD in their place; numbers keep their exact text. The check comes first
// so that the common document costs no re-encoding.
func validJSON(doc []byte) (string, error) {
	if !bytes.Contains(doc, []byte(`\u0000`)) && utf8.Valid(doc) {
		return string(doc), nil
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("decode JSON document: %w", err)
	}
	// json.Marshal turns invalid UTF-8 into U+FFFD itself; only NUL needs replacing.
	out, err := json.Marshal(withoutNUL(v))
	if err != nil {
		return "", fmt.Errorf("re-encode JSON document: %w", err)
	}
	return string(out), nil
}

// withoutNUL replaces NUL in every string of a decoded JSON value, keys included (should two keys
// then coincide, one is kept: the body still holds both).
func withoutNUL(v any) any {
	switch t := v.(type) {
	case string:
		return strings.ReplaceAll(t, "\x00", "\uFFFD")
	case []any:
		for i := range t {
			t[i] = withoutNUL(t[i])
		}
		return t
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[strings.ReplaceAll(k, "\x00", "\uFFFD")] = withoutNUL(x)
		}
		return out
	}
	return v
}
