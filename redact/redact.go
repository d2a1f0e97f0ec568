// Package redact keeps full Aadhaar numbers out of what we store and log, and masks mobile numbers
// for logs.
//
// Raw request bodies are stored for audit, so Body rewrites them byte for byte: only the digits of
// a full Aadhaar number change (to 'X'), everything else, including the length, stays as received.
// Masking only ever turns digits into 'X', never the other way, which is what makes Body idempotent.
// Document, which is what stored bodies go through, adds a check of decoded JSON for the spellings
// byte rules cannot see, and re-encodes the body only when one is found.
package redact

import (
	"regexp"
	"strings"
)

// Compiled patterns are read-only after initialisation and safe for concurrent use; they are the
// only package-level values.
var (
	// jsonKeyRE matches, at the start of its input, an Aadhaar-carrying key in JSON, or in JSON
	// that was itself escaped into a string (\"aadhaar\":\"...\"), and its value. Group 1 is a
	// string value's content (it stops before an unescaped or escaped closing quote), group 2 a
	// bare number. It is anchored because an unanchored scan, with no literal prefix to look
	// for, runs the matcher from every byte of the body: Body finds the few places a match can
	// start and tries it only there.
	jsonKeyRE = regexp.MustCompile(`^(?i)\\?"(?:` + keyNames + `)\\?"\s*:\s*(?:\\?"((?:[^"\\]|\\[^"])*)|([0-9:][0-9 :\-]*))`)

	// formKeyRE matches, at the start of its input, the same keys in form-encoded or
	// query-string text (&aadhaar=...&...), after the separator that precedes them. formKeyAtStartRE
	// is for the start of the body, where there may be no separator; ^ means the start of the
	// whole body, so it is only ever run on the whole body.
	formKeyRE        = regexp.MustCompile(`^(?i)[?&;\s](?:` + keyNames + `)=([^&;\s]*)`)
	formKeyAtStartRE = regexp.MustCompile(`^(?i)(?:^|[?&;\s])(?:` + keyNames + `)=([^&;\s]*)`)

	maskedRE = regexp.MustCompile(`^:?[xX*]{4}[ \-]?[xX*]{4}[ \-]?[0-9]{4}$`)
	mobileRE = regexp.MustCompile(`^\+?[0-9][0-9 \-]*$`)
)

// keyNames are the keys whose value is an Aadhaar number, as a regexp alternation (order
// matters: the first alternative that lets the rest match wins).
const keyNames = `customeridentification|aadhaar|aadhar|aadhaar_number|aadhaarnumber|aadhar_no|uid|aadhaar_no|aadhar_number`

// escape tells nextDigit which escape sequences of the surrounding syntax to leave alone, so that
// the digits of \u0020 or %20 are neither counted nor masked.
type escape int

const (
	escNone escape = iota
	escJSON
	escForm
)

// Body returns b with every full Aadhaar number masked, and whether anything changed. Two rules:
//
//   - the value of a key named (case-insensitively) customeridentification, aadhaar, aadhar,
//     aadhaar_number, aadhaarnumber, aadhar_no, uid, aadhaar_no or aadhar_number, in JSON (also
//     escaped JSON) or form encoding: when it holds more than four digits, every digit but the
//     last four becomes 'X'. So a partly masked value ("xxxx-6789-0124") is masked too, and a
//     masked one, with at most four digits, is left alone.
//   - anywhere: three groups of exactly four digits joined by a space, dash, '+' or %20/%2D, the
//     first digit 2-9, passing the Verhoeff check (Aadhaar's check digit): the first eight
//     digits become 'X'. Ungrouped 12-digit numbers outside those keys are left alone, since an
//     RRN is one.
//
// b is never modified; when nothing changed, out is b itself.
func Body(b []byte) (out []byte, changed bool) {
	w := cow{src: b}
	maskKeys(&w)
	src := b
	if w.buf != nil {
		src = w.buf // the grouped-number rule sees what the key rule left
	}
	for _, g := range groupedAadhaars(src) {
		x := w.copy()[g.start:g.end]
		for i := range x {
			x[i] = 'X'
		}
	}
	if w.buf == nil {
		return b, false
	}
	return w.buf, true // a copy is only ever made to change a digit
}

// cow is Body's copy-on-write output: most bodies need no change, and then need no copy.
type cow struct{ src, buf []byte }

// copy returns the writable copy of src, making it on first use.
func (w *cow) copy() []byte {
	if w.buf == nil {
		w.buf = append([]byte(nil), w.src...)
	}
	return w.buf
}

// maskKeys masks the values jsonKeyRE and formKeyRE find in w.src, as unanchored FindAll scans
// would, but trying the anchored patterns only where a match can start: at a key start (see
// mayStartKey) right after a quote (JSON) or a separator (form), or at the start of the body.
// Candidates come in ascending order, and none inside the previous match of the same pattern.
//
// A JSON match may also start at the backslash of an escaped quote, but it then holds the same
// groups, and ends at the same place, as the match at the quote, so only quotes are tried.
func maskKeys(w *cow) {
	b := w.src
	jsonEnd, formEnd := 0, 0 // ends of the previous matches
	if len(b) > 0 && (mayStartKey(b, 0) || isFormSep(b[0]) && mayStartKey(b, 1)) {
		if m := formKeyAtStartRE.FindSubmatchIndex(b); m != nil {
			maskValue(w, m[2], m[3], escForm)
			formEnd = m[1]
		}
	}
	for k := 1; k < len(b); k++ {
		if !mayPrecedeKey(b[k-1]) || !mayStartKey(b, k) {
			continue
		}
		switch p := k - 1; {
		case b[p] == '"':
			if p >= jsonEnd {
				jsonEnd = maskJSONKey(w, p, jsonEnd)
			}
		case p >= max(formEnd, 1): // a separator at 0 is formKeyAtStartRE's
			formEnd = maskFormKey(w, p, formEnd)
		}
	}
}

// maskJSONKey tries jsonKeyRE at b[p] and returns the end of the match, or end if none.
func maskJSONKey(w *cow, p, end int) int {
	m := jsonKeyRE.FindSubmatchIndex(w.src[p:])
	if m == nil {
		return end
	}
	if m[2] >= 0 {
		maskValue(w, p+m[2], p+m[3], escJSON)
	} else if m[4] >= 0 {
		maskValue(w, p+m[4], p+m[5], escNone)
	}
	return p + m[1]
}

// maskFormKey tries formKeyRE at b[p] and returns the end of the match, or end if none.
func maskFormKey(w *cow, p, end int) int {
	m := formKeyRE.FindSubmatchIndex(w.src[p:])
	if m == nil {
		return end
	}
	maskValue(w, p+m[2], p+m[3], escForm)
	return p + m[1]
}

// mayPrecedeKey reports whether c is '"' or isFormSep(c), as a bit test: it runs on every byte.
func mayPrecedeKey(c byte) bool {
	const set uint64 = 1<<'"' | formSeps
	return c < 64 && set>>c&1 != 0
}

// isFormSep reports whether c may stand before a form key: [?&;\s], where \s is [\t\n\f\r ].
func isFormSep(c byte) bool {
	return c < 64 && formSeps>>c&1 != 0
}

// formSeps is the set of isFormSep, one bit per byte value.
const formSeps uint64 = 1<<'?' | 1<<'&' | 1<<';' | 1<<'\t' | 1<<'\n' | 1<<'\f' | 1<<'\r' | 1<<' '

// mayStartKey is a cheap test of whether one of keyNames may start at b[k]: every one starts
// with "aadha" or "uid", or is customeridentification, with "identification" after "customer",
// 8 bytes, or 9 when its s is written ſ (U+017F), which (?i) matches. No other letter of the
// keys matches anything but its ASCII upper and lower case.
func mayStartKey(b []byte, k int) bool {
	if k >= len(b) {
		return false
	}
	switch b[k] | 0x20 {
	case 'a':
		return hasFoldPrefix(b, k, "aadha")
	case 'u':
		return hasFoldPrefix(b, k, "uid")
	case 'c':
		return hasFoldPrefix(b, k+8, "identification") || hasFoldPrefix(b, k+9, "identification")
	}
	return false
}

// hasFoldPrefix reports whether b[i:] starts with s (lower-case ASCII letters), ignoring ASCII
// case. It compares in place: bytes.ToLower would allocate, and can change lengths.
func hasFoldPrefix(b []byte, i int, s string) bool {
	if i < 0 || len(b)-i < len(s) {
		return false
	}
	for j := 0; j < len(s); j++ {
		if b[i+j]|0x20 != s[j] {
			return false
		}
	}
	return true
}

// maskValue masks w.src[start:end] in the writable copy when it holds more than four digits. It
// counts before it copies: most values seen are already masked.
func maskValue(w *cow, start, end int, esc escape) {
	v := w.src[start:end]
	n := 0
	for i := nextDigit(v, 0, esc); i < len(v); i = nextDigit(v, i+1, esc) {
		n++
	}
	if n <= 4 {
		return
	}
	x := w.copy()[start:end]
	for i := nextDigit(v, 0, esc); n > 4; i = nextDigit(v, i+1, esc) {
		x[i] = 'X'
		n--
	}
}

// digitPositions lists the offsets of the digits in v, skipping those inside escape sequences.
func digitPositions(v []byte, esc escape) []int {
	var pos []int
	for i := nextDigit(v, 0, esc); i < len(v); i = nextDigit(v, i+1, esc) {
		pos = append(pos, i)
	}
	return pos
}

// nextDigit returns the offset of the first digit in v at or after i, skipping escape
// sequences, or len(v) if there is none. i must not be inside an escape sequence.
func nextDigit(v []byte, i int, esc escape) int {
	for ; i < len(v); i++ {
		switch {
		case esc == escJSON && v[i] == '\\':
			if i+1 < len(v) && v[i+1] == 'u' {
				i += 5 // \uXXXX
			} else {
				i++ // \n, \\, ...
			}
		case esc == escForm && v[i] == '%' && i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2]):
			i += 2
		case isDigit(v[i]):
			return i
		}
	}
	return len(v)
}

type span struct{ start, end int }

// groupedAadhaars returns, for every written Aadhaar number found in b, the spans of its first two
// digit groups (the part to mask; the separator between them may be %20, whose digits must stay).
// Overlapping candidates (a 4-4-4-4 number holds two) are each checked against the original digits.
func groupedAadhaars(b []byte) []span {
	var found []span
	var last [3]span             // the newest three digit groups of the current run, oldest first
	n, seps, prevEnd := 0, 0, -1 // n counts the run's groups
	for i := 0; i < len(b); {
		if !mayStartToken(b[i]) {
			i++
			continue
		}
		start, end := i, groupToken(b, i)
		if end == start {
			i++ // a % not followed by 20 or 2D
			continue
		}
		i = end
		if start != prevEnd {
			n, seps = 0, 0 // a run is an unbroken sequence of tokens
		}
		prevEnd = end
		if !isDigit(b[start]) {
			seps++
			continue
		}
		// Groups belong together only when 1 to 3 separators stand between them.
		if n > 0 && (seps < 1 || seps > 3) {
			n = 0
		}
		last[0], last[1], last[2] = last[1], last[2], span{start, end}
		n++
		seps = 0
		if n >= 3 && isWrittenAadhaar(b, last) {
			found = append(found, last[0], last[1])
		}
	}
	return found
}

// mayStartToken is a cheap test for groupToken, a bit test, as it runs on every byte of the body.
func mayStartToken(c byte) bool {
	const set uint64 = 1<<'%' | 1<<' ' | 1<<'+' | 1<<'-' | 0x3ff<<'0'
	return c < 64 && set>>c&1 != 0
}

// groupToken returns the end of the token at b[i], or i if none starts there. The tokens are
// digit runs and the separators allowed between the groups of a written Aadhaar number: space,
// dash, '+' and %20 / %2D (form encoding). %2x is tried first so that the digits of an escape
// are never read as part of a number.
func groupToken(b []byte, i int) int {
	switch c := b[i]; {
	case c == '%' && len(b)-i >= 3 && b[i+1] == '2' && (b[i+2] == '0' || b[i+2]|0x20 == 'd'):
		return i + 3
	case isDigit(c):
		i++
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		return i
	case c == ' ' || c == '+' || c == '-':
		return i + 1
	}
	return i
}

// isWrittenAadhaar reports whether three digit groups form an Aadhaar number: 4-4-4 digits, the
// first 2-9, with a valid check digit.
func isWrittenAadhaar(b []byte, g [3]span) bool {
	if g[0].end-g[0].start != 4 || g[1].end-g[1].start != 4 || g[2].end-g[2].start != 4 {
		return false
	}
	if b[g[0].start] < '2' {
		return false // no Aadhaar number starts with 0 or 1
	}
	var digits [12]byte
	n := copy(digits[:], b[g[0].start:g[0].end])
	n += copy(digits[n:], b[g[1].start:g[1].end])
	copy(digits[n:], b[g[2].start:g[2].end])
	return verhoeffValid(digits[:])
}

// verhoeffValid reports whether the digit string (ASCII '0'-'9') ends in a correct Verhoeff check
// digit. The tables are literals inside the function, so there is no shared state to corrupt.
func verhoeffValid(digits []byte) bool {
	d := [10][10]byte{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
		{2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
		{3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
		{4, 0, 1, 2, 3, 9, 5, 6, 7, 8},
		{5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
		{6, 5, 9, 8, 7, 1, 0, 4, 3, 2},
		{7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
		{8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
		{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
	}
	p := [8][10]byte{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
		{5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
		{8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
		{9, 4, 5, 3, 1, 2, 6, 8, 7, 0},
		{4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
		{2, 7, 9, 3, 8, 0, 6, 4, 1, 5},
		{7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
	}
	if len(digits) == 0 {
		return false
	}
	var c byte
	for i := range digits {
		x := digits[len(digits)-1-i]
		if !isDigit(x) {
			return false
		}
		c = d[c][p[i%8][x-'0']]
	}
	return c == 0
}

// IsFullAadhaar reports whether s is an unmasked Aadhaar number: exactly 12 digits once spaces,
// dashes and a leading colon (the partner doc's sample has one) are removed. Any X, x or * means
// it is not full. The check digit is deliberately not verified: any 12 digits are treated as
// sensitive.
func IsFullAadhaar(s string) bool {
	s = strings.TrimPrefix(strings.TrimSpace(s), ":")
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ' || c == '-':
		case isDigit(c):
			n++
		default:
			return false
		}
	}
	return n == 12
}

// IsMaskedAadhaar reports whether s is a masked Aadhaar number: eight x, X or * and the last four
// digits, optionally grouped 4-4-4 by spaces or dashes, optionally with a leading colon:
// "xxxx-xxxx-5604", "XXXX XXXX 9999", "XXXXXXXX9999", ":xxxx-xxxx-5604", "********5604".
// Surrounding whitespace is ignored.
func IsMaskedAadhaar(s string) bool {
	return maskedRE.MatchString(strings.TrimSpace(s))
}

// Text masks free text (a message, a reason, a header, a path, a log value): Body's rules, and
// every bare Aadhaar number too (twelve digits in a row passing the check, see maskBare), since
// free text is never a reference. A reference (tid, RRN) must not go through Text: it may be a
// bare 12-digit number that passes the check; TextKeepingBare is Body's rules alone.
func Text(s string) string {
	out, changed := maskString(s) // Body's rules, white space of any kind read as a space
	if m, ok := maskBare([]byte(out)); ok {
		return string(m)
	}
	if changed {
		return out
	}
	return s
}

// TextKeepingBare is Body for a string: written numbers and Aadhaar keys masked, bare 12-digit
// numbers kept. It is for a value that may be a reference.
func TextKeepingBare(s string) string {
	if out, changed := maskString(s); changed {
		return out
	}
	return s
}

// MaskAadhaar replaces every ASCII digit of s except the last four with 'X', keeping everything
// else. It is for a value known to be an Aadhaar field that failed IsMaskedAadhaar.
func MaskAadhaar(s string) string {
	b := []byte(s)
	pos := digitPositions(b, escNone)
	if len(pos) <= 4 {
		return s
	}
	for _, p := range pos[:len(pos)-4] {
		b[p] = 'X'
	}
	return string(b)
}

// Mobile masks a mobile number for logs. A number of 10 to 13 digits (optionally with a leading
// '+' and spaces or dashes) keeps its last four digits: "9999999999" -> "XXXXXX9999",
// "+91 9999999999" -> "+XX XXXXXX9999". Anything else is masked completely (one X per character,
// at most 20), so the result never holds more than four digits of the input.
func Mobile(m string) string {
	m = strings.TrimSpace(m)
	if mobileRE.MatchString(m) {
		b := []byte(m)
		pos := digitPositions(b, escNone)
		if len(pos) >= 10 && len(pos) <= 13 {
			for _, p := range pos[:len(pos)-4] {
				b[p] = 'X'
			}
			return string(b)
		}
	}
	n := len([]rune(m))
	if n > 20 {
		n = 20
	}
	return strings.Repeat("X", n)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
