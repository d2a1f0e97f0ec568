package redact

import "testing"

func TestTextMasksBareNumbers(t *testing.T) {
	for in, want := range map[string]string{
		"Aadhaar 234567890124 verified": "Aadhaar XXXXXXXX0124 verified",
		"234567890124":                  "XXXXXXXX0124",
		"/eko/aeps/234567890124?x=1":    "/eko/aeps/XXXXXXXX0124?x=1",
		"a234567890124b,987654321012":   "aXXXXXXXX0124b,XXXXXXXX1012",
		"234567890123":                  "234567890123",   // no check digit
		"1234567890124":                 "1234567890124",  // 13 digits: a reference, a timestamp
		"23456789012":                   "23456789012",    // 11 digits
		"034567890124x":                 "034567890124x",  // no Aadhaar number starts with 0 or 1
		"2345 6789 0124":                "XXXX XXXX 0124", // Body's rule still applies
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
	if got := TextKeepingBare("rrn 234567890124, 2345 6789 0124"); got != "rrn 234567890124, XXXX XXXX 0124" {
		t.Errorf("TextKeepingBare = %q", got)
	}
}

func TestIsReferenceKey(t *testing.T) {
	for k, want := range map[string]bool{
		"client_ref_id": true, "ClientRefID": true, "tid": true, "TID": true, "bank_ref_num": true, "rrn": true,
		"txnId": true, "txn_id": true, "TXN-ID": true,
		"amount": false, "reason": false, "tidy": false, "uid": false, "ref": false, "client_ref_id_note": false,
	} {
		if got := isReferenceKey(k); got != want {
			t.Errorf("isReferenceKey(%q) = %v", k, got)
		}
	}
}
