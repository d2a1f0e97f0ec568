// Package redact keeps full Aadhaar numbers out of what we store and log, and masks mobile numbers
// for logs.
//
// Raw request bodies are stored for audit, so Body rewrites them byte for byte: only the digits of
// a full Aadhaar number change (to 'X'), everything else, including the length, stays as received.
// Masking only ever turns digits into 'X', never the other way, which is what makes Body idempotent.
package redact

import (
	"bytes"
	"regexp"
	"strings"
)

// Compiled patterns are read-only after initialisation and safe for concurrent use; they are the
// only package-level values.
var (
	// jsonKeyRE finds the value of an Aadhaar-carrying key in JSON, or in JSON that was itself
	// escaped into a string (\"aadhaar\":\"...\"). Group 1 is a string value's content (it stops
	// before an unescaped or escaped closing quote), group 2 a bare number.
	jsonKeyRE = regexp.MustCompile(`(?i)\\?"(?:customeridentification|aadhaar|aadhar|aadhaar_number|aadhaarnumber|aadhar_no|uid)\\?"\s*:\s*(?:\\?"((?:[^"\\]|\\[^"])*)|([0-9:][0-9 :\-]*))`)

	// formKeyRE finds the same keys in form-encoded or query-string text (aadhaar=...&...).
	formKeyRE = regexp.MustCompile(`(?i)(?:^|[?&;\s])(?:customeridentification|aadhaar|aadhar|aadhaar_number|aadhaarnumber|aadhar_no|uid)=([^&;\s]*)`)

	// groupTokRE splits text into digit runs and the separators allowed between the groups of a
	// written Aadhaar number: space, dash, '+' and %20 / %2D (form encoding). %2x is listed first
	// so that the digits of an escape are never read as part of a number.
	groupTokRE = regexp.MustCompile(`%2[0dD]|[0-9]+|[ +\-]`)

	maskedRE = regexp.MustCompile(`^:?[xX*]{4}[ \-]?[xX*]{4}[ \-]?[0-9]{4}$`)
	mobileRE = regexp.MustCompile(`^\+?[0-9][0-9 \-]*$`)
)

// escape tells maskDigits which escape sequences of the surrounding syntax to leave alone, so that
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
//     aadhaar_number, aadhaarnumber, aadhar_no or uid, in JSON (also escaped JSON) or form
//     encoding: when it holds 12 or more digits, every digit but the last four becomes 'X'. A
//     masked value has at most 4 digits, so it is left alone.
//   - anywhere: three groups of exactly four digits joined by a space, dash, '+' or %20/%2D, the
//     first digit 2-9, passing the Verhoeff check (Aadhaar's check digit): the first eight
//     digits become 'X'. Ungrouped 12-digit numbers outside those keys are left alone, since an
//     RRN is one.
//
// b is never modified; when nothing changed, out is b itself.
func Body(b []byte) (out []byte, changed bool) {
	var buf []byte // copy-on-write: most bodies need no change
	get := func() []byte {
		if buf == nil {
			buf = append([]byte(nil), b...)
		}
		return buf
	}
	if mayHoldKey(b) {
		for _, m := range jsonKeyRE.FindAllSubmatchIndex(b, -1) {
			if m[2] >= 0 {
				changed = maskValue(b, get, m[2], m[3], escJSON) || changed
			} else if m[4] >= 0 {
				changed = maskValue(b, get, m[4], m[5], escNone) || changed
			}
		}
		for _, m := range formKeyRE.FindAllSubmatchIndex(b, -1) {
			changed = maskValue(b, get, m[2], m[3], escForm) || changed
		}
	}
	src := b
	if buf != nil {
		src = buf // the grouped-number rule sees what the key rule left
	}
	for _, g := range groupedAadhaars(src) {
		w := get()
		for i := g.start; i < g.end; i++ {
			w[i] = 'X'
		}
		changed = true
	}
	if buf == nil {
		return b, false
	}
	return buf, changed
}

// mayHoldKey is a cheap filter before the case-insensitive key patterns, which are slow to scan
// with: every key contains "aadha", "uid" or "identification".
func mayHoldKey(b []byte) bool {
	l := bytes.ToLower(b)
	return bytes.Contains(l, []byte("aadha")) || bytes.Contains(l, []byte("uid")) ||
		bytes.Contains(l, []byte("identification"))
}

// maskValue masks b[start:end] in the writable copy when it holds 12 or more digits.
func maskValue(b []byte, get func() []byte, start, end int, esc escape) bool {
	pos := digitPositions(b[start:end], esc)
	if len(pos) < 12 {
		return false
	}
	w := get()
	for _, p := range pos[:len(pos)-4] {
		w[start+p] = 'X'
	}
	return true
}

// digitPositions lists the offsets of the digits in v, skipping those inside escape sequences.
func digitPositions(v []byte, esc escape) []int {
	var pos []int
	for i := 0; i < len(v); i++ {
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
			pos = append(pos, i)
		}
	}
	return pos
}

type span struct{ start, end int }

// groupedAadhaars returns, for every written Aadhaar number found in b, the spans of its first two
// digit groups (the part to mask; the separator between them may be %20, whose digits must stay).
// Overlapping candidates (a 4-4-4-4 number holds two) are each checked against the original digits.
func groupedAadhaars(b []byte) []span {
	var found []span
	var groups []span // digit groups of the current run
	seps, prevEnd := 0, -1
	flush := func() {
		for i := 0; i+3 <= len(groups); i++ {
			g := groups[i : i+3]
			if g[0].end-g[0].start != 4 || g[1].end-g[1].start != 4 || g[2].end-g[2].start != 4 {
				continue
			}
			if b[g[0].start] < '2' {
				continue // no Aadhaar number starts with 0 or 1
			}
			var digits [12]byte
			n := copy(digits[:], b[g[0].start:g[0].end])
			n += copy(digits[n:], b[g[1].start:g[1].end])
			copy(digits[n:], b[g[2].start:g[2].end])
			if verhoeffValid(digits[:]) {
				found = append(found, g[0], g[1])
			}
		}
		groups, seps = groups[:0], 0
	}
	for _, t := range groupTokRE.FindAllIndex(b, -1) {
		if t[0] != prevEnd {
			flush()
		}
		prevEnd = t[1]
		if !isDigit(b[t[0]]) {
			seps++
			continue
		}
		// Groups belong together only when 1 to 3 separators stand between them.
		if len(groups) > 0 && (seps < 1 || seps > 3) {
			flush()
		}
		groups = append(groups, span{t[0], t[1]})
		seps = 0
	}
	flush()
	return found
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
