package redact

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// Verhoeff-valid 12-digit numbers used as sample Aadhaar numbers (checked by TestSampleNumbers).
// They are synthetic: generated from arbitrary 11-digit prefixes plus the computed check digit.
const (
	aad1 = "234567890124"
	aad2 = "491837264503"
	aad3 = "999999999999"
	aad4 = "876543210988"
	// Verhoeff-valid but starting with 1: no real Aadhaar number does.
	aadStarts1 = "100000000004"
	// An RRN that also happens to pass Verhoeff; ungrouped, so it must survive outside the keys.
	rrnValid = "230612077855"
)

func TestVerhoeff(t *testing.T) {
	tests := []struct {
		digits string
		want   bool
	}{
		{"2363", true}, // textbook vector: check digit of 236 is 3
		{"2364", false},
		{"123451", true}, // check digit of 12345 is 1
		{"123450", false},
		{aad1, true},
		{aad2, true},
		{aad3, true},
		{aad4, true},
		{"234567890123", false}, // last digit changed
		{"234567890142", false}, // adjacent transposition, which Verhoeff catches
		{"230612077853", false}, // the rrn of the partner's example (docs/partner-callback.md)
		{"", false},
		{"12a4", false},
	}
	for _, tt := range tests {
		t.Run(tt.digits, func(t *testing.T) {
			if got := verhoeffValid([]byte(tt.digits)); got != tt.want {
				t.Fatalf("verhoeffValid(%q) = %v, want %v", tt.digits, got, tt.want)
			}
		})
	}
}

func TestSampleNumbers(t *testing.T) {
	for _, s := range []string{aad1, aad2, aad3, aad4, aadStarts1, rrnValid} {
		if len(s) != 12 || !verhoeffValid([]byte(s)) {
			t.Errorf("%s is not a Verhoeff-valid 12-digit number", s)
		}
	}
}

// group writes a 12-digit number as 4-4-4 with sep.
func group(n, sep string) string { return n[:4] + sep + n[4:8] + sep + n[8:] }

func TestBodyMasks(t *testing.T) {
	tests := []struct{ name, in, want string }{
		// Rule (a): Aadhaar keys, any digit layout.
		{"customeridentIfication plain", `{"customeridentIfication":"234567890124","rrn":"230612077853"}`,
			`{"customeridentIfication":"XXXXXXXX0124","rrn":"230612077853"}`},
		{"lowercase key", `{"customeridentification":"234567890123"}`, `{"customeridentification":"XXXXXXXX0123"}`},
		{"key any case", `{"AADHAAR":"234567890123"}`, `{"AADHAAR":"XXXXXXXX0123"}`},
		{"aadhar", `{"aadhar": "2345 6789 0123"}`, `{"aadhar": "XXXX XXXX 0123"}`},
		{"aadhaar_number dashes", `{"aadhaar_number":"2345-6789-0123"}`, `{"aadhaar_number":"XXXX-XXXX-0123"}`},
		{"aadhaarnumber", `{"aadhaarnumber":"234567890123"}`, `{"aadhaarnumber":"XXXXXXXX0123"}`},
		{"aadhar_no", `{"aadhar_no":"234567890123"}`, `{"aadhar_no":"XXXXXXXX0123"}`},
		{"uid", `{"uid":"234567890123"}`, `{"uid":"XXXXXXXX0123"}`},
		{"stray colon", `{"customeridentIfication":":2345-6789-0123"}`, `{"customeridentIfication":":XXXX-XXXX-0123"}`},
		{"bare number", `{"aadhaar":234567890123,"x":1}`, `{"aadhaar":XXXXXXXX0123,"x":1}`},
		{"bare number spaces around colon", "{\"uid\" :\n\t234567890123}", "{\"uid\" :\n\tXXXXXXXX0123}"},
		{"mixed grouping", `{"aadhaar":"2345 67890123"}`, `{"aadhaar":"XXXX XXXX0123"}`},
		{"surrounding text in value", `{"aadhaar":"UID 234567890123 ok"}`, `{"aadhaar":"UID XXXXXXXX0123 ok"}`},
		{"16-digit VID under key", `{"uid":"2345678901234567"}`, `{"uid":"XXXXXXXXXXXX4567"}`},
		{"escaped JSON inside a string", `{"raw":"{\"aadhaar\":\"234567890123\"}"}`, `{"raw":"{\"aadhaar\":\"XXXXXXXX0123\"}"}`},
		{"unicode escape digits not counted", `{"aadhaar":"\u0032345678901234"}`, `{"aadhaar":"\u0032XXXXXXXX1234"}`},
		{"nested object key", `{"data":{"aadhaar":"234567890123","rrn":"230612077853"}}`,
			`{"data":{"aadhaar":"XXXXXXXX0123","rrn":"230612077853"}}`},
		{"every occurrence", `[{"uid":"234567890123"},{"uid":"345678901234"}]`, `[{"uid":"XXXXXXXX0123"},{"uid":"XXXXXXXX1234"}]`},
		{"form key", `aadhaar=234567890123&rrn=230612077853`, `aadhaar=XXXXXXXX0123&rrn=230612077853`},
		{"form key percent-encoded spaces", `a=1&uid=2345%206789%200123`, `a=1&uid=XXXX%20XXXX%200123`},
		// More than four digits under a key: all but the last four are masked.
		{"11 digits under key", `{"aadhaar":"23456789012"}`, `{"aadhaar":"XXXXXXX9012"}`},
		{"partly masked under key", `{"aadhaar":"XXXX-6789-0123"}`, `{"aadhaar":"XXXX-XXXX-0123"}`},
		{"partly masked lower-case x", `{"customeridentIfication":"xxxx-6789-0124"}`, `{"customeridentIfication":"xxxx-XXXX-0124"}`},
		{"five digits under key", `{"uid":"12345"}`, `{"uid":"X2345"}`},
		{"partly masked form key", `uid=xxxx6789%2D0124`, `uid=xxxxXXXX%2D0124`},
		{"aadhaar_no", `{"aadhaar_no":"234123412346"}`, `{"aadhaar_no":"XXXXXXXX2346"}`},
		{"aadhar_number", `{"aadhar_number":"234123412346"}`, `{"aadhar_number":"XXXXXXXX2346"}`},
		{"aadhaar_no any case, form", `x=1&AADHAAR_NO=234123412346&Aadhar_Number=2341-2341-2346`,
			`x=1&AADHAAR_NO=XXXXXXXX2346&Aadhar_Number=XXXX-XXXX-2346`},
		{"aadhaar_no escaped JSON", `{"raw":"{\"aadhaar_no\":\"234123412346\"}"}`, `{"raw":"{\"aadhaar_no\":\"XXXXXXXX2346\"}"}`},
		// Rule (b): grouped, Verhoeff-valid, first digit 2-9, anywhere.
		{"grouped spaces in free text", `{"statusDesc":"failed for ` + group(aad1, " ") + `"}`,
			`{"statusDesc":"failed for XXXX XXXX 0124"}`},
		{"grouped dashes", `note ` + group(aad2, "-") + ` end`, `note XXXX-XXXX-4503 end`},
		{"grouped plus (form)", `q=` + group(aad3, "+"), `q=XXXX+XXXX+9999`},
		{"grouped %20 (form)", `q=` + group(aad4, "%20") + `&x=1`, `q=XXXX%20XXXX%200988&x=1`},
		{"grouped at start and end of body", group(aad1, " "), `XXXX XXXX 0124`},
		{"garbage around", "\x00\xff" + group(aad1, "-") + "\xfe", "\x00\xffXXXX-XXXX-0124\xfe"},
		{"two in one body", group(aad1, " ") + "," + group(aad2, " "), "XXXX XXXX 0124,XXXX XXXX 4503"},
		{"inside a 4-4-4-4 run", "9999 " + group(aad1, " "), "9999 XXXX XXXX 0124"},
		{"both rules", `{"aadhaar":"234567890123","m":"` + group(aad2, " ") + `"}`,
			`{"aadhaar":"XXXXXXXX0123","m":"XXXX XXXX 4503"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			orig := append([]byte(nil), in...)
			got, changed := Body(in)
			if string(got) != tt.want {
				t.Fatalf("Body(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			if !changed {
				t.Fatal("changed = false")
			}
			if !bytes.Equal(in, orig) {
				t.Fatal("Body modified its input")
			}
			if len(got) != len(in) {
				t.Fatalf("length changed: %d -> %d", len(in), len(got))
			}
			again, changed2 := Body(got)
			if !bytes.Equal(again, got) || changed2 {
				t.Fatalf("not idempotent: %q -> %q", got, again)
			}
		})
	}
}

func TestBodyLeavesAlone(t *testing.T) {
	sample := `{"statusDesc":"Transaction Successful","createdDate":"2022-11-02 12:12:13","updatedDate":"2022-11-02 12:12:50",` +
		`"productCode":"AEPS","txnType":"AEPS_CASH_WITHDRAWAL","txnAmount":"2000","txnDateTime":"2022-11-02 12:12:50",` +
		`"customeridentIfication":"xxxx-xxxx-5604","status":"SUCCESS","rrn":"230612077853","txnId":1037255263620431872,` +
		`"username":"Sagarikatest","ClientRefID":"20720","param_b":"771","param_c":""}`
	tests := []struct{ name, in string }{
		{"rebuilt partner sample", sample},
		{"rrn string", `{"rrn":"230612077853"}`},
		{"Verhoeff-valid rrn, ungrouped", `{"rrn":"` + rrnValid + `","bank_ref_num":` + rrnValid + `}`},
		{"ungrouped Aadhaar-like number outside keys", `{"ref":"` + aad1 + `"} ` + aad1},
		{"masked under key", `{"customeridentIfication":":xxxx-xxxx-5604"}`},
		{"masked X spaces", `{"aadhaar":"XXXX XXXX 9999"}`},
		{"masked stars", `{"aadhaar":"********5604"}`},
		{"4 digits under key", `{"aadhaar":"1234","uid":5604}`},
		{"aadhaar_no-like keys that are not keys", `{"aadhaar_nos":"234123412346","aadhar_numbers":"234123412346"}`},
		{"similar key names are not Aadhaar keys", `{"customer_uid":"234567890123","uid2":"234567890123","xaadhaar":"234567890123"}`},
		{"grouped but check digit wrong", group("234567890123", " ")},
		{"grouped Verhoeff-valid but starts with 1", group(aadStarts1, " ")},
		{"grouped but starts with 0", "0123 4567 8902"},
		{"group of five", "2" + group(aad1, " ")},
		{"trailing digit makes a group of five", group(aad1, " ") + "5"},
		{"two separators too many", "2345    6789    0124"},
		{"dates and times", `"2022-11-02 12:12:13" 2022-11-02`},
		{"txnId", `{"txnId":1037255263620431872,"txnIdS":"18446744073709551615"}`},
		{"mobile", `{"customer_id":"9999999999"}`},
		{"empty", ``},
		{"not JSON", "\xff\xfe{{{\"aadhaar\":"},
		{"key with no value", `{"aadhaar":}`},
		{"null value", `{"aadhaar":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := Body([]byte(tt.in))
			if changed || string(got) != tt.in {
				t.Fatalf("Body(%q) = %q, %v; want it unchanged", tt.in, got, changed)
			}
		})
	}
}

func TestIsFullAadhaar(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"234567890123", true},
		{"2345 6789 0123", true},
		{"2345-6789-0123", true},
		{":2345-6789-0123", true},
		{" 234567890123 ", true},
		{"000000000000", true}, // no checksum test: any 12 digits are sensitive
		{"xxxx-xxxx-5604", false},
		{"XXXX XXXX 9999", false},
		{"XXXXXXXX9999", false},
		{"********5604", false},
		{"2345678901X3", false},
		{"23456789012", false},
		{"2345678901234", false},
		{"", false},
		{"::234567890123", false},
		{"2345.6789.0123", false},
		{"२३४५६७८९०१२३", false}, // non-ASCII digits are not what partners send
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := IsFullAadhaar(tt.in); got != tt.want {
				t.Fatalf("IsFullAadhaar(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestIsMaskedAadhaar(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"xxxx-xxxx-5604", true},
		{"XXXX XXXX 9999", true},
		{"XXXXXXXX9999", true},
		{":xxxx-xxxx-5604", true},
		{"********5604", true},
		{"****-****-5604", true},
		{" xxxx-xxxx-5604 ", true},
		{"xXx*xxxx5604", true},
		{"234567890123", false},
		{"2345-6789-0123", false},
		{"xxxx-xxxx-xxxx", false},
		{"xxxx-6789-0123", false},
		{"xxxx-xxxx-560", false},
		{"xxxx-xxxx-56045", false},
		{"xxx-xxxx-5604", false},
		{"::xxxx-xxxx-5604", false},
		{"xxxx--xxxx-5604", false},
		{"yyyy-yyyy-5604", false},
		{"", false},
		{"5604", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := IsMaskedAadhaar(tt.in); got != tt.want {
				t.Fatalf("IsMaskedAadhaar(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestMaskAadhaar(t *testing.T) {
	tests := []struct{ in, want string }{
		{"234567890123", "XXXXXXXX0123"},
		{":2345-6789-0123", ":XXXX-XXXX-0123"},
		{"2345 6789 0123", "XXXX XXXX 0123"},
		{"xxxx-xxxx-5604", "xxxx-xxxx-5604"},
		{"2345678901234567", "XXXXXXXXXXXX4567"},
		{"abc", "abc"},
		{"12345", "X2345"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := MaskAadhaar(tt.in); got != tt.want {
				t.Fatalf("MaskAadhaar(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMobile(t *testing.T) {
	tests := []struct{ in, want string }{
		{"9999999999", "XXXXXX9999"},
		{"9876543210", "XXXXXX3210"},
		{" 9876543210 ", "XXXXXX3210"},
		{"+919876543210", "+XXXXXXXX3210"},
		{"+91 98765 43210", "+XX XXXXX X3210"},
		{"09876543210", "XXXXXXX3210"},
		{"98765-43210", "XXXXX-X3210"},
		{"12345", "XXXXX"},
		{"123", "XXX"},
		{"", ""},
		{"98765432101234", "XXXXXXXXXXXXXX"}, // 14 digits: not a mobile number
		{"abc9876543210", "XXXXXXXXXXXXX"},
		{"phone: 9876543210", "XXXXXXXXXXXXXXXXX"},
		{strings.Repeat("9", 40), strings.Repeat("X", 20)},
		{"९८७६५४३२१०", "XXXXXXXXXX"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := Mobile(tt.in)
			if got != tt.want {
				t.Fatalf("Mobile(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if n := countDigits(got); n > 4 {
				t.Fatalf("Mobile(%q) kept %d digits", tt.in, n)
			}
		})
	}
}

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
		}
	}
	return n
}

// writtenAadhaarRE is an independent (simpler) statement of rule (b) for the fuzz oracle: a
// 4-4-4 group joined by one space, dash or '+', checked at every offset.
var writtenAadhaarRE = regexp.MustCompile(`^[2-9][0-9]{3}[ +\-][0-9]{4}[ +\-][0-9]{4}`)

// leakedAadhaar returns a written, Verhoeff-valid Aadhaar number left in b, or "".
func leakedAadhaar(b []byte) string {
	for i := range b {
		if i > 0 && isDigit(b[i-1]) {
			continue
		}
		m := writtenAadhaarRE.Find(b[i:])
		if m == nil || (i+len(m) < len(b) && isDigit(b[i+len(m)])) {
			continue
		}
		digits := []byte{}
		for _, c := range m {
			if isDigit(c) {
				digits = append(digits, c)
			}
		}
		if verhoeffValid(digits) {
			return string(m)
		}
	}
	return ""
}

// bodySeeds are the fuzz seeds of FuzzBody, shared with FuzzBodyMatchesOracle.
func bodySeeds() []string {
	return []string{
		`{"customeridentIfication":"` + aad1 + `","rrn":"230612077853","txnId":1037255263620431872}`,
		`{"customeridentIfication":"xxxx-xxxx-5604","rrn":"230612077853"}`,
		`{"aadhaar":` + aad2 + `}`,
		`{"uid":"` + group(aad3, " ") + `"}`,
		`{"raw":"{\"aadhar\":\"` + aad4 + `\"}"}`,
		`aadhaar=` + aad1 + `&q=` + group(aad2, "+") + `&r=` + group(aad3, "%20"),
		`statusDesc: ` + group(aad1, "-") + ` / ` + group(aad2, " "),
		"9999 " + group(aad1, " ") + " 1234",
		"\xff\x00{\"aadhaar\":\"\\u0032" + aad1 + "\"",
		`{"aadhaar":"\\` + aad1 + `"}`,
		``,
		`%2` + group(aad1, "%2D"),
	}
}

func FuzzBody(f *testing.F) {
	for _, s := range bodySeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := append([]byte(nil), in...)
		out, changed := Body(in)
		if !bytes.Equal(in, orig) {
			t.Fatal("Body modified its input")
		}
		if len(out) != len(in) {
			t.Fatalf("length changed: %d -> %d", len(in), len(out))
		}
		if changed == bytes.Equal(out, in) {
			t.Fatalf("changed = %v but output equal = %v", changed, bytes.Equal(out, in))
		}
		for i := range out {
			// Only digits ever change, and only into 'X'.
			if out[i] != in[i] && !(isDigit(in[i]) && out[i] == 'X') {
				t.Fatalf("byte %d changed from %q to %q", i, in[i], out[i])
			}
		}
		again, changed2 := Body(out)
		if !bytes.Equal(again, out) || changed2 {
			t.Fatalf("not idempotent:\n in  %q\n out %q\n out2 %q", in, out, again)
		}
		if leak := leakedAadhaar(out); leak != "" {
			t.Fatalf("output still holds %q: %q", leak, out)
		}
		// A known full number under a known key never survives when the body is JSON.
		var obj map[string]any
		if json.Unmarshal(out, &obj) == nil {
			for _, k := range []string{"customeridentIfication", "aadhaar", "uid"} {
				if s, ok := obj[k].(string); ok && IsFullAadhaar(s) {
					t.Fatalf("%s still holds a full Aadhaar: %q", k, out)
				}
			}
		}
	})
}
