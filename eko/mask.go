package eko

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/aepsflow/aepsflow/redact"
)

// longDigits is the digit count from which a debit-hook value is taken for someone's number: an
// Aadhaar number has 12 (a VID 16). No field of a genuine debit-hook has that many but the
// reference, client_ref_id.
const longDigits = 12

// MaskDebitHookBody returns a debit-hook's body as it may be stored, with changed true when it
// differs from body. body has been through redact.Document, which masks Aadhaar numbers under
// Aadhaar keys and written ones (2345 6789 0124), but not a bare number under any other key, since
// such a number may be a reference elsewhere (an RRN has 12 digits). A debit-hook holds no
// reference but detail.client_ref_id, so here every other string or number, and every key, with
// twelve or more digits (escaped ones included: they are counted decoded) is masked but for its
// last four digits: a bank_code, an amount or a custom parameter carrying an Aadhaar number is
// not stored in full, even when the debit-hook is refused for it. client_ref_id is kept exactly.
// The result is then a compact re-encoding of the body (member order and repeated keys kept).
// A body that is not one JSON value is returned as it is (redact.Document has masked its digit
// runs already).
func MaskDebitHookBody(body []byte) ([]byte, bool) {
	out, changed, err := maskLongNumbers(body)
	if err != nil || !changed {
		return body, false
	}
	return out, true
}

// frame is one open object or array while re-encoding.
type frame struct {
	object    bool
	expectKey bool   // in an object: the next token is a key
	key       string // in an object: the key of the value being read
	n         int    // members or elements written so far
}

func maskLongNumbers(body []byte) ([]byte, bool, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var out bytes.Buffer
	var stack []frame
	changed := false
	// separator writes the comma before a key or an element, and, for a value, nothing: the key
	// wrote its colon.
	separator := func() {
		if len(stack) == 0 {
			return
		}
		f := &stack[len(stack)-1]
		if f.object && !f.expectKey {
			return
		}
		if f.n > 0 {
			out.WriteByte(',')
		}
		f.n++
	}
	// valueDone flips an object back to expecting a key once its value is complete.
	valueDone := func() {
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].expectKey = true
		}
	}
	// reference reports whether the value being read is detail.client_ref_id.
	reference := func() bool {
		return len(stack) == 2 && stack[0].key == "detail" && stack[1].object && stack[1].key == "client_ref_id"
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, false, err
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				separator()
				out.WriteByte(byte(t))
				stack = append(stack, frame{object: t == '{', expectKey: t == '{'})
			case '}', ']':
				out.WriteByte(byte(t))
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].expectKey {
				separator()
				f := &stack[n-1]
				f.key, f.expectKey = t, false
				if digitCount(t) >= longDigits {
					t, changed = redact.MaskAadhaar(t), true
				}
				writeString(&out, t)
				out.WriteByte(':')
				continue
			}
			separator()
			if digitCount(t) >= longDigits && !reference() {
				t, changed = redact.MaskAadhaar(t), true
			}
			writeString(&out, t)
			valueDone()
		case json.Number:
			separator()
			if digitCount(string(t)) >= longDigits && !reference() {
				// A masked number is no longer a number: stored as a string, as redact does.
				writeString(&out, redact.MaskAadhaar(string(t)))
				changed = true
			} else {
				out.WriteString(string(t))
			}
			valueDone()
		case bool:
			separator()
			if t {
				out.WriteString("true")
			} else {
				out.WriteString("false")
			}
			valueDone()
		case nil:
			separator()
			out.WriteString("null")
			valueDone()
		}
	}
	return out.Bytes(), changed, nil
}

func writeString(out *bytes.Buffer, s string) {
	b, _ := json.Marshal(s) // a string always encodes
	out.Write(b)
}

func digitCount(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}
