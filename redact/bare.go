package redact

// A bare Aadhaar number is twelve digits in a row, with no digit right before or after, the
// first 2-9 and the last a correct Verhoeff check digit: "Aadhaar 234567890124 verified".
// Body leaves such numbers alone, because raw bodies hold references of that shape (an RRN has
// twelve digits, and one in ten passes the check); the rules that know where a value stands
// mask them: Text, for free text that is never a reference, and Document, for every JSON value
// but those of reference keys (see isReferenceKey).

// maskBare returns b with the first eight digits of every bare Aadhaar number turned into 'X',
// and whether anything changed; b is never modified, and is returned when nothing changed.
func maskBare(b []byte) ([]byte, bool) {
	w := cow{src: b}
	for i := 0; i < len(b); {
		if !isDigit(b[i]) {
			i++
			continue
		}
		j := i
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		if j-i == 12 && b[i] >= '2' && verhoeffValid(b[i:j]) {
			x := w.copy()
			for k := i; k < i+8; k++ {
				x[k] = 'X'
			}
		}
		i = j
	}
	if w.buf == nil {
		return b, false
	}
	return w.buf, true
}

// hasBare reports whether s holds a bare Aadhaar number.
func hasBare(s string) bool {
	if digitCount(s) < 12 {
		return false
	}
	_, found := maskBare([]byte(s))
	return found
}

// isReferenceKey reports whether a JSON key names a reference that must stay exact, whatever
// it looks like: Eko's client_ref_id, tid and bank_ref_num, the partner's ClientRefID, rrn and
// txnId (in any letter case, with or without '_' or '-'). Reconciliation with Eko and the
// partner needs them byte for byte, and an RRN is a bare 12-digit number that may pass the
// check. What such a key holds is left to Body's rules (a written 2345 6789 0124 is still
// masked).
func isReferenceKey(k string) bool {
	if len(k) > len("client_ref_id")+4 {
		return false
	}
	// Folded without allocating: Document asks this of every key it walks.
	var b [len("client_ref_id") + 4]byte
	n := 0
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '_' || c == '-':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		b[n] = c
		n++
	}
	switch string(b[:n]) {
	case "clientrefid", "tid", "bankrefnum", "rrn", "txnid":
		return true
	}
	return false
}
