package redact

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Document is Body with a safety net for what Body's byte rules cannot all see, and it is what
// stored bodies go through.
//
// When the body is one JSON value (the usual case), it catches the spellings of JSON: an escaped
// key ("aadhaa\u0072"), escaped digits ("\u0032\u0033..."), a number literal (-234567890124,
// 2.34567890124e11). Body's result is decoded and checked: every value under an Aadhaar key (see
// isAadhaarKey: any key holding "aadha" in any case, uid, customeridentification), a string, a
// number's literal text, or anything nested in it, must hold at most four digits, and every
// other string, and every key, must be one that Body leaves alone once tabs, CRs and LFs in it
// are read as spaces; JSON escaped into a string is decoded and checked the same way. If one
// fails, the result is a compact re-encoding of the whole decoded document (members in received
// order, repeated keys kept) with those values masked (MaskAadhaar; a number becomes a masked
// string), passed through Body again, and changed is true. Otherwise it is Body's result byte
// for byte.
//
// When the body is not one JSON value (cut off, as every oversized body is; JSON with a syntax
// error; XML; a form or query string), no parser reads it, so there is nothing to decode it
// with: every run of twelve or more digits in Body's result is masked, all but its last four
// digits, whatever key it is under or not (see maskRuns). A digit is an ASCII digit, a JSON
// escape \u003D or a percent escape %3D (D a digit); the groups of a run may be joined by one
// to three separators: space, '-', '+', '.', tab, CR, LF, or their JSON (\n, \t, \r, \u00XX)
// or percent (%XX) escapes. A masked token is overwritten with 'X', so the length is kept:
// "%32" becomes "XXX", "\u0032" "XXXXXX". This masks numbers that are not Aadhaar numbers too
// (a 13-digit millisecond timestamp, a 19-digit transaction id, an RRN, "2.34567890124e11"),
// which is accepted: such a body is bad input, which our parsers refuse, and is kept for audit
// only. The same applies when the body is JSON but Body's result is not (Body masked the digits
// of a \uXXXX escape) and the decoded check finds nothing, so that Document stays idempotent.
//
// b is never modified.
func Document(b []byte) (out []byte, changed bool) {
	out, changed = Body(b)
	src := out
	v, ok := walker{}.decode(src)
	outIsJSON := ok
	if !ok && changed {
		// Body masked digits of a number literal (or of an escape), so its result is no longer
		// JSON; the input may be, and may spell another number in a way Body missed.
		src = b
		v, ok = walker{}.decode(src)
	}
	if !ok {
		return maskRunsAfterBody(out, changed)
	}
	if _, found := (walker{}).mask(v, false, false, 0); !found {
		if !outIsJSON {
			return maskRunsAfterBody(out, changed)
		}
		return out, changed
	}
	// Rare: decode again, keeping the order and every repeated key, to mask and re-encode.
	w := walker{ordered: true}
	if v, ok = w.decode(src); !ok {
		return out, changed // not reached: both decoders accept exactly valid JSON
	}
	v, _ = w.mask(v, false, false, 0)
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
// anything. under means v is, or is inside, the value of an Aadhaar key; ref that it is, or is
// inside, the value of a reference key (isReferenceKey), whose bare numbers are kept. A map is
// only checked: it is never re-encoded.
func (w walker) mask(v any, under, ref bool, depth int) (any, bool) {
	switch t := v.(type) {
	case string:
		if under {
			if digitCount(t) > 4 {
				return MaskAadhaar(t), true
			}
			return v, false
		}
		if inner, ok := w.embedded(t, depth); ok {
			if inner, found := w.mask(inner, false, ref, depth+1); found {
				return string(encodeValue(nil, inner)), true
			}
			return v, false
		}
		if s, ok := maskFree(t, ref); ok {
			return s, true
		}
	case json.Number:
		if (under && digitCount(string(t)) > 4) || (!ref && hasBare(string(t))) {
			return MaskAadhaar(string(t)), true // a masked number is a string
		}
	case map[string]any:
		for k, e := range t {
			if _, ok := maskFree(k, false); ok {
				return v, true
			}
			if _, found := w.mask(e, under || isAadhaarKey(k), ref || isReferenceKey(k), depth+1); found {
				return v, true
			}
		}
	case object:
		changed := false
		for i := range t {
			m := &t[i]
			key, refKey := isAadhaarKey(m.key), isReferenceKey(m.key)
			if s, ok := maskFree(m.key, false); ok {
				m.key, changed = s, true
			}
			if val, found := w.mask(m.val, under || key, ref || refKey, depth+1); found {
				m.val, changed = val, true
			}
		}
		return v, changed
	case []any:
		changed := false
		for i := range t {
			if e, found := w.mask(t[i], under, ref, depth+1); found {
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

// isAadhaarKey reports whether a decoded key names an Aadhaar number: one holding "aadha" in any
// ASCII case (aadhaarNo, aadhar_num, customer_aadhaar, AadhaarNumber, and all of Body's aadha
// names), or uid or customeridentification folded as Body's (?i) patterns fold them. uid must
// be the whole key: guid and uuid are not Aadhaar numbers.
func isAadhaarKey(k string) bool {
	for i := 0; i+len("aadha") <= len(k); i++ {
		if k[i]|0x20 == 'a' && hasFoldPrefixString(k, i, "aadha") {
			return true
		}
	}
	// No letter of uid folds to anything but its ASCII cases; ſ for s adds one byte.
	if len(k) < len("uid") || len(k) > len("customeridentification")+1 {
		return false
	}
	return strings.EqualFold(k, "uid") || strings.EqualFold(k, "customeridentification")
}

// hasFoldPrefixString is hasFoldPrefix for a string.
func hasFoldPrefixString(s string, i int, p string) bool {
	if len(s)-i < len(p) {
		return false
	}
	for j := 0; j < len(p); j++ {
		if s[i+j]|0x20 != p[j] {
			return false
		}
	}
	return true
}

// maskFree is maskString and, unless ref (the string is a reference's value), maskBare.
func maskFree(s string, ref bool) (string, bool) {
	out, changed := maskString(s)
	if !ref && digitCount(out) >= 12 {
		if m, ok := maskBare([]byte(out)); ok {
			return string(m), true
		}
	}
	return out, changed
}

// maskString applies Body to a decoded string (a value, a key, or free text for Text): escapes
// may have hidden from Body what the decoded text shows, a written number or a form key
// (uid=...) say. Every kind of white space (tab, CR, LF, a no-break or em space, ...) is read as
// a space, and a run of them as one, since a number written "2345<TAB>6789<TAB>0124" or with
// several spaces is as readable as "2345 6789 0124": when something is masked, the result has
// the single spaces, otherwise s is returned as it is.
func maskString(s string) (string, bool) {
	if digitCount(s) <= 4 {
		return s, false // Body changes nothing with fewer: skips the copy for most strings
	}
	b := spacesNormalised(s)
	out, changed := Body(b)
	if !changed {
		return s, false
	}
	return string(out), true
}

// spacesNormalised returns s with every run of Unicode white space turned into one ' '.
func spacesNormalised(s string) []byte {
	b := make([]byte, 0, len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || r == '\u200b' || r == '\u2060' || r == '\ufeff' {
			if !space {
				b = append(b, ' ')
			}
			space = true
			continue
		}
		space = false
		b = utf8.AppendRune(b, r)
	}
	return b
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

// maskRunsAfterBody applies maskRuns to out, Body's result (changed is Body's changed), for a
// body that is not one JSON value. When maskRuns masks something, Body runs again, which makes
// the result certainly a fixed point of both, so that Document stays idempotent: Body is
// idempotent, and only turns digits into 'X', which never makes a new run.
func maskRunsAfterBody(out []byte, changed bool) ([]byte, bool) {
	m, masked := maskRuns(out)
	if !masked {
		return out, changed
	}
	m, _ = Body(m)
	return m, true
}

// Token classes for maskRuns.
const (
	tokOther = iota
	tokDigit
	tokSep
)

// maxRunSeps is how many separator tokens may stand between two digits of one run, as many as
// Body allows between the groups of a written number ("2345 - 6789", CRLF).
const maxRunSeps = 3

// minRunDigits is the length of a run that maskRuns masks: an Aadhaar number's.
const minRunDigits = 12

// maskRuns returns b with every run of minRunDigits or more digits masked but its last four,
// and whether anything changed; b is never modified, and is returned when nothing changed. A
// run is a sequence of digit tokens (see runToken) with at most maxRunSeps separator tokens
// between neighbours and nothing else; a masked token's bytes all become 'X'.
//
// Masking is idempotent: a masked token becomes 'X' bytes, which are neither digits nor
// separators and do not change where the tokens around them start, and a run is maximal, so
// the four digits it keeps cannot join another run.
func maskRuns(b []byte) ([]byte, bool) {
	w := cow{src: b}
	start, n, seps := 0, 0, 0 // the current run's first digit token, its digit count, trailing separators
	end := func() {
		if n >= minRunDigits {
			maskRun(&w, start, n-4)
		}
		n, seps = 0, 0
	}
	for i := 0; i < len(b); {
		next, class := runToken(b, i)
		switch class {
		case tokDigit:
			if n > 0 && seps > maxRunSeps {
				end()
			}
			if n == 0 {
				start = i
			}
			n++
			seps = 0
		case tokSep:
			seps++
		default:
			end()
		}
		i = next
	}
	end()
	if w.buf == nil {
		return b, false
	}
	return w.buf, true
}

// maskRun masks the first k digit tokens from b[start], which is where a run starts.
func maskRun(w *cow, start, k int) {
	x := w.copy()
	for i := start; k > 0; {
		next, class := runToken(w.src, i)
		if class == tokDigit {
			for j := i; j < next; j++ {
				x[j] = 'X'
			}
			k--
		}
		i = next
	}
}

// runToken returns the end of the token at b[i] and its class. A token is a JSON escape
// (\uXXXX, or a backslash and the next byte), a percent escape (%XX), or one byte; it is a digit
// or a separator (see isRunSep) by what it decodes to. Escapes are read as escapes wherever they
// are, and backslashes pair up from the start of the body, as in a JSON string: in \\u0032,
// the u0032 is text, and its digits are plain digits.
func runToken(b []byte, i int) (int, int) {
	c := b[i]
	switch {
	case c == '\\' && i+1 < len(b):
		if b[i+1] == 'u' && len(b)-i >= 6 && isHex(b[i+2]) && isHex(b[i+3]) && isHex(b[i+4]) && isHex(b[i+5]) {
			if b[i+2] != '0' || b[i+3] != '0' {
				return i + 6, tokOther
			}
			return i + 6, classify(hexValue(b[i+4])<<4 | hexValue(b[i+5]))
		}
		if c := b[i+1]; c == 'n' || c == 't' || c == 'r' {
			return i + 2, tokSep
		}
		return i + 2, tokOther // \\, \", a cut \u...
	case c == '%' && len(b)-i >= 3 && isHex(b[i+1]) && isHex(b[i+2]):
		return i + 3, classify(hexValue(b[i+1])<<4 | hexValue(b[i+2]))
	}
	return i + 1, classify(c)
}

func classify(c byte) int {
	switch {
	case isDigit(c):
		return tokDigit
	case isRunSep(c):
		return tokSep
	}
	return tokOther
}

// isRunSep reports whether c may stand between the digit groups of a run: space, '-', '+', '.',
// tab, CR or LF.
func isRunSep(c byte) bool {
	const set uint64 = 1<<' ' | 1<<'-' | 1<<'+' | 1<<'.' | 1<<'\t' | 1<<'\r' | 1<<'\n'
	return c < 64 && set>>c&1 != 0
}

func hexValue(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
