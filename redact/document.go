package redact

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"unicode/utf8"
)

// Document is Body with a safety net for JSON, whose spellings Body's byte rules cannot all see:
// an escaped key ("aadhaa\u0072"), escaped digits ("\u0032\u0033..."), a number literal
// (-234567890124, 2.34567890124e11). When the body is one JSON value, Body's result is decoded
// and checked: every value under a key that folds (strings.EqualFold) to one of Body's key names
// (a string, a number's literal text, or anything nested in it) must hold at most four digits,
// and every other string, and every key, must be one that Body leaves alone; JSON escaped into a
// string is decoded and checked the same way. If one fails, the result is a compact
// re-encoding of the whole decoded document (members in received order, repeated keys kept) with
// those values masked (MaskAadhaar; a number becomes a masked string), passed through Body again,
// and changed is true. Otherwise, the usual case, it is Body's result byte for byte.
//
// b is never modified.
func Document(b []byte) (out []byte, changed bool) {
	out, changed = Body(b)
	src := out
	v, ok := walker{}.decode(src)
	if !ok && changed {
		// Body masked digits of a number literal (or of an escape), so its result is no longer
		// JSON; the input may be, and may spell another number in a way Body missed.
		src = b
		v, ok = walker{}.decode(src)
	}
	if !ok {
		return out, changed
	}
	if _, found := (walker{}).mask(v, false, 0); !found {
		return out, changed
	}
	// Rare: decode again, keeping the order and every repeated key, to mask and re-encode.
	w := walker{ordered: true}
	if v, ok = w.decode(src); !ok {
		return out, changed // not reached: both decoders accept exactly valid JSON
	}
	v, _ = w.mask(v, false, 0)
	// Body again, over the whole text: the checks above see one key or string at a time.
	enc, _ := Body(encodeValue(nil, v))
	return enc, true
}

// maxDepth is encoding/json's nesting limit, which decode applies to each document as Decode
// does; it also bounds how deep JSON inside strings is looked into, so all recursion is bounded.
const maxDepth = 10000

// walker decodes and masks a document. The check that usually finds nothing decodes into maps,
// which is three times faster; the re-encoding needs the members in order (ordered).
type walker struct{ ordered bool }

// member is one key and value of a decoded object. An ordered object is a list, not a map, so
// that a repeated key is checked and kept: the copy a map drops may be the one holding a number.
type member struct {
	key string
	val any
}

type object []member

// decode decodes b, which must be exactly one JSON value, into nil, bool, string, json.Number
// (the literal text), []any, and map[string]any or, when ordered or b repeats a key, object.
func (w walker) decode(b []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if w.ordered {
		var ok bool
		if v, ok = decodeValue(dec, 0); !ok {
			return nil, false
		}
	} else if dec.Decode(&v) != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false // more than one value
	}
	if !w.ordered && members(v) != colons(b) {
		return walker{ordered: true}.decode(b) // a repeated key: the map kept one copy
	}
	return v, true
}

func decodeValue(dec *json.Decoder, depth int) (any, bool) {
	t, err := dec.Token() // Token checks the syntax, delimiters included
	if err != nil {
		return nil, false
	}
	d, isDelim := t.(json.Delim)
	if !isDelim {
		return t, true
	}
	if depth >= maxDepth || (d != '{' && d != '[') {
		return nil, false
	}
	var o object // nil is still an object: it encodes as {}
	var a []any
	for dec.More() {
		var key string
		if d == '{' {
			k, err := dec.Token()
			s, isString := k.(string)
			if err != nil || !isString {
				return nil, false
			}
			key = s
		}
		v, ok := decodeValue(dec, depth+1)
		if !ok {
			return nil, false
		}
		if d == '{' {
			o = append(o, member{key, v})
		} else {
			a = append(a, v)
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, false
	}
	if d == '{' {
		return o, true
	}
	return a, true
}

// members counts the object members in a decoded value, not counting JSON inside strings.
func members(v any) int {
	n := 0
	switch t := v.(type) {
	case map[string]any:
		n += len(t)
		for _, e := range t {
			n += members(e)
		}
	case object:
		n += len(t)
		for _, m := range t {
			n += members(m.val)
		}
	case []any:
		for _, e := range t {
			n += members(e)
		}
	}
	return n
}

// colons counts the colons outside strings in JSON text: one per object member.
func colons(b []byte) int {
	n, inString := 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case c == ':' && !inString:
			n++
		}
	}
	return n
}

// mask returns v with what Body should have masked in it masked, and whether there was
// anything. under means v is, or is inside, the value of an Aadhaar key. A map is only checked:
// it is never re-encoded.
func (w walker) mask(v any, under bool, depth int) (any, bool) {
	switch t := v.(type) {
	case string:
		if under {
			if digitCount(t) > 4 {
				return MaskAadhaar(t), true
			}
			return v, false
		}
		if inner, ok := w.embedded(t, depth); ok {
			if inner, found := w.mask(inner, false, depth+1); found {
				return string(encodeValue(nil, inner)), true
			}
			return v, false
		}
		if s, ok := maskString(t); ok {
			return s, true
		}
	case json.Number:
		if under && digitCount(string(t)) > 4 {
			return MaskAadhaar(string(t)), true
		}
	case map[string]any:
		for k, e := range t {
			if _, ok := maskString(k); ok {
				return v, true
			}
			if _, found := w.mask(e, under || isAadhaarKey(k), depth+1); found {
				return v, true
			}
		}
	case object:
		changed := false
		for i := range t {
			m := &t[i]
			key := isAadhaarKey(m.key)
			if s, ok := maskString(m.key); ok {
				m.key, changed = s, true
			}
			if val, found := w.mask(m.val, under || key, depth+1); found {
				m.val, changed = val, true
			}
		}
		return v, changed
	case []any:
		changed := false
		for i := range t {
			if e, found := w.mask(t[i], under, depth+1); found {
				t[i], changed = e, true
			}
		}
		return v, changed
	}
	return v, false
}

// embedded decodes s when it is itself a JSON object or array (JSON escaped into a string).
func (w walker) embedded(s string, depth int) (any, bool) {
	t := strings.TrimLeft(s, " \t\r\n")
	if t == "" || (t[0] != '{' && t[0] != '[') || depth >= maxDepth {
		return nil, false
	}
	return w.decode([]byte(s))
}

// isAadhaarKey reports whether a decoded key is one of Body's key names, folded as its (?i)
// patterns fold them.
func isAadhaarKey(k string) bool {
	// Each name starts with a, u or c, which fold to nothing else, and ſ for s adds one byte.
	if len(k) < len("uid") || len(k) > len("customeridentification")+1 {
		return false
	}
	if c := k[0] | 0x20; c != 'a' && c != 'u' && c != 'c' {
		return false
	}
	for n := range strings.SplitSeq(keyNames, "|") {
		if strings.EqualFold(k, n) {
			return true
		}
	}
	return false
}

// maskString applies Body to a decoded string (a value, or a key): escapes may have hidden from
// Body what the decoded text shows, a written number or a form key (uid=...) say.
func maskString(s string) (string, bool) {
	if digitCount(s) <= 4 {
		return s, false // Body changes nothing with fewer: skips the copy for most strings
	}
	out, changed := Body([]byte(s))
	return string(out), changed
}

func digitCount(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
		}
	}
	return n
}

// encodeValue appends v, as decode returns it, to b as compact JSON.
func encodeValue(b []byte, v any) []byte {
	switch t := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		if t {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case json.Number:
		return append(b, t...)
	case string:
		return appendString(b, t)
	case object:
		b = append(b, '{')
		for i, m := range t {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, m.key)
			b = append(b, ':')
			b = encodeValue(b, m.val)
		}
		return append(b, '}')
	case []any:
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ',')
			}
			b = encodeValue(b, e)
		}
		return append(b, ']')
	}
	return b
}

// appendString appends s as a JSON string, escaping only what JSON requires. encoding/json would
// also escape <, > and &, and Body's form-key rule looks for a literal &.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s { // invalid UTF-8 becomes U+FFFD, as encoding/json decodes it
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}
