package redact

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// partnerSample is the partner's callback sample with a masked Aadhaar number; documentTests
// swap in other spellings of customeridentIfication.
const partnerSample = `{"statusDesc":"Transaction Successful","createdDate":"2022-11-02 12:12:13","txnType":"AEPS_CASH_WITHDRAWAL",` +
	`"txnAmount":"2000","customeridentIfication":"xxxx-xxxx-5604","status":"SUCCESS","rrn":"230612077853",` +
	`"txnId":1037255263620431872,"ClientRefID":"20720","param_c":""}`

// withAadhaar returns partnerSample with its customeridentIfication member replaced by member.
func withAadhaar(member string) string {
	return strings.Replace(partnerSample, `"customeridentIfication":"xxxx-xxxx-5604"`, member, 1)
}

// digits9 matches a run of nine or more digits: a full Aadhaar number has twelve, and a masked
// one keeps four.
var digits9 = regexp.MustCompile(`[0-9]{9,}`)

func TestDocumentMasksWhatBodyMisses(t *testing.T) {
	tests := []struct{ name, in, want string }{
		// The auditor's spellings (point 1).
		{"negative number", withAadhaar(`"customeridentIfication":-234567890124`),
			withAadhaar(`"customeridentIfication":"-XXXXXXXX0124"`)},
		{"escaped key", withAadhaar(`"customeridentIficatio\u006e":"234567890124"`),
			withAadhaar(`"customeridentIfication":"XXXXXXXX0124"`)},
		{"escaped digits", withAadhaar(`"customeridentIfication":"\u0032\u0033\u0034\u0035\u0036\u0037\u0038\u0039\u0030\u0031\u0032\u0034"`),
			withAadhaar(`"customeridentIfication":"XXXXXXXX0124"`)},
		{"exponent", withAadhaar(`"customeridentIfication":2.34567890124e11`),
			withAadhaar(`"customeridentIfication":"X.XXXXXXXXX24e11"`)},
		// Other spellings the byte rules miss.
		{"some digits escaped", `{"aadhaar":"\u0032345678901234"}`, `{"aadhaar":"XXXXXXXXX1234"}`},
		{"escaped key, form-style name", `{"aadhaa\u0072_no":"234123412346"}`, `{"aadhaar_no":"XXXXXXXX2346"}`},
		{"key folds with long s", `{"CU\u017fTOMERIDENTIFICATION":-234567890124}`, `{"CUſTOMERIDENTIFICATION":"-XXXXXXXX0124"}`},
		{"array under key", `{"uid":[234567890124]}`, `{"uid":["XXXXXXXX0124"]}`},
		{"object under key", `{"aadhaar":{"value":"234567890124","type":"uid"}}`, `{"aadhaar":{"value":"XXXXXXXX0124","type":"uid"}}`},
		{"repeated key, first one full", `{"uid":"\u0032345678901234","uid":"XXXXXXXX1234"}`,
			`{"uid":"XXXXXXXXX1234","uid":"XXXXXXXX1234"}`},
		{"escaped key inside escaped JSON", `{"raw":"{\"aadhaa\\u0072\":\"234567890124\"}"}`,
			`{"raw":"{\"aadhaar\":\"XXXXXXXX0124\"}"}`},
		{"JSON twice escaped into strings", `["{\"raw\":\"{\\\"ui\\\\u0064\\\":234567890124}\"}"]`,
			`["{\"raw\":\"{\\\"uid\\\":\\\"XXXXXXXX0124\\\"}\"}"]`},
		{"written number with an escaped space", `{"statusDesc":"failed for 2345\u00206789 0124"}`,
			`{"statusDesc":"failed for XXXX XXXX 0124"}`},
		{"form key behind an escaped &", `{"url":"a=1\u0026uid=234567890124"}`, `{"url":"a=1&uid=XXXXXXXX0124"}`},
		{"written number in a key", `{"2345\u00206789 0124":1}`, `{"XXXX XXXX 0124":1}`},
		// Spellings of an Aadhaar key that are not Body's names (point 2 of the review).
		{"aadhaarNo", `{"aadhaarNo":"234567890124"}`, `{"aadhaarNo":"XXXXXXXX0124"}`},
		{"aadharno", `{"aadharno":"234567890124"}`, `{"aadharno":"XXXXXXXX0124"}`},
		{"aadhar_num", `{"aadhar_num":234567890124}`, `{"aadhar_num":"XXXXXXXX0124"}`},
		{"customer_aadhaar", `{"x":1,"customer_aadhaar":"234567890124"}`, `{"x":1,"customer_aadhaar":"XXXXXXXX0124"}`},
		{"AadhaarNumber, number literal", `{"AadhaarNumber":234567890124}`, `{"AadhaarNumber":"XXXXXXXX0124"}`},
		{"AadhaarNumber, escaped digits", `{"AadhaarNumber":"\u00323\u0034567890124"}`, `{"AadhaarNumber":"XXXXXXXX0124"}`},
		{"aadha key nested", `{"kyc":{"AADHAR_REF":["2345678901","x"]}}`, `{"kyc":{"AADHAR_REF":["XXXXXX8901","x"]}}`},
		// Whitespace other than a space between the groups of a written number (point 3).
		{"groups joined by \\n", `{"note":"2345\n6789\n0124"}`, `{"note":"XXXX XXXX 0124"}`},
		{"groups joined by \\t", `{"note":"2345\t6789\t0124","rrn":"230612077853"}`,
			`{"note":"XXXX XXXX 0124","rrn":"230612077853"}`},
		{"groups joined by \\r\\n", `{"note":"id:\r\n2345\r\n6789\r\n0124"}`, `{"note":"id: XXXX XXXX 0124"}`},
		{"groups joined by \\n, in a key", `{"2345\n6789\n0124":1}`, `{"XXXX XXXX 0124":1}`},
		// Body's masking of a number literal leaves no JSON; the input is checked instead.
		{"bare number masked by Body, escaped digits elsewhere",
			`{"uid":12345,"aadhaar":"\u0032\u0033\u0034\u0035\u0036\u0037\u0038\u0039\u0030\u0031\u0032\u0034","q":"x&aadhar=234567890124"}`,
			`{"uid":"X2345","aadhaar":"XXXXXXXX0124","q":"x&aadhar=XXXXXXXX0124"}`},
		{"bare number alone", `{"aadhaar":234567890124,"x":1}`, `{"aadhaar":"XXXXXXXX0124","x":1}`},
		// A bare Aadhaar number (twelve digits passing the check) under any key but a reference's.
		{"bare, not an Aadhaar key", `{"customer_uid":-234567890124,"uid2":"\u0032345678901234"}`,
			`{"customer_uid":"-XXXXXXXX0124","uid2":"2345678901234"}`},
		{"bare in free text, a number, a nested list, a key", `{"reason":"Aadhaar 234567890124 seeded","amount":234567890124,"x":[{"y":"234567890124"}],"234567890124":1}`,
			`{"reason":"Aadhaar XXXXXXXX0124 seeded","amount":"XXXXXXXX0124","x":[{"y":"XXXXXXXX0124"}],"XXXXXXXX0124":1}`},
		{"bare beside references", `{"tid":"234567890124","bank_ref_num":234567890124,"note":"234567890124"}`,
			`{"tid":"234567890124","bank_ref_num":234567890124,"note":"XXXXXXXX0124"}`},
		// The re-encoding keeps what JSON allows unescaped, and every other value as sent.
		{"other values kept", `{"a":"<&>\u00e9\n\u0001","b":[true,false,null,-1.5e3,{}],"uid":"\u0031\u0032\u0033\u0034\u0035"}`,
			"{\"a\":\"<&>\u00e9\\n\\u0001\",\"b\":[true,false,null,-1.5e3,{}],\"uid\":\"X2345\"}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			orig := append([]byte(nil), in...)
			got, changed := Document(in)
			if string(got) != tt.want || !changed {
				t.Fatalf("Document(%s)\n got %s, %v\nwant %s, true", tt.in, got, changed, tt.want)
			}
			if !bytes.Equal(in, orig) {
				t.Fatal("Document modified its input")
			}
			if !json.Valid(got) {
				t.Fatalf("re-encoding is not JSON: %s", got)
			}
			if again, changed := Document(got); changed || !bytes.Equal(again, got) {
				t.Fatalf("not idempotent: %s -> %s", got, again)
			}
		})
	}
}

func TestDocumentIsBodyOtherwise(t *testing.T) {
	tests := []string{
		ekoResponseSample,
		partnerSample,
		// Body's masks suffice.
		withAadhaar(`"customeridentIfication":"234567890124"`),
		withAadhaar(`"customeridentIfication":"xxxx-6789-0124"`),
		`{"aadhaar_no":"234123412346","aadhar_number":"2341 2341 2346"}`,
		`{"raw":"{\"aadhaar\":\"234567890124\"}"}`,
		`{"m":"` + group(aad2, " ") + `","uid":"` + aad1 + `"}`,
		// Nothing to mask.
		`{"txnId":1037255263620431872,"rrn":"` + rrnValid + `","note":"\u0041\n","aadhaar":null,"uid":1234}`,
		`{"uid":"XXXX XXXX 1234","aadhaar":{"last4":"1234"},"list":["[1,2]","{","{\"a\":1}"]}`,
		`{"customer_uid":-234567890123,"uid2":"\u0032345678901234"}`, // not Aadhaar keys, no check digit
		`{"aadhaar":"xxxx","aadhaar":"XXXX XXXX 1234"}`,
		// Not one JSON value, but Body leaves no run of twelve digits for maskRuns.
		`aadhaar=234567890124&uid=\u0032345678901234`,
		`{"aadhaar":"\u0032345678901234"} {"x":1}`,
		`{"aadhaar":"\u0032345678901234"`,
		strings.Repeat("[", 10001) + `{"uid":"\u0032345678901234"}` + strings.Repeat("]", 10001), // too deep
		``,
	}
	for _, in := range tests {
		t.Run("", func(t *testing.T) {
			want, wantChanged := Body([]byte(in))
			got, changed := Document([]byte(in))
			if !bytes.Equal(got, want) || changed != wantChanged {
				t.Fatalf("Document(%.200s)\n got %.200s, %v\nwant Body's %.200s, %v", in, got, changed, want, wantChanged)
			}
		})
	}
}

// leaks reports whether out still spells number (a 12-digit Aadhaar number): after decoding
// percent escapes and JSON \u00XX escapes, and dropping the separators a written number may
// have between its groups (space, '-', '+', '.', tab, CR, LF and their JSON escapes).
func leaks(out []byte, number string) bool {
	s := percentEscRE.ReplaceAllStringFunc(string(out), func(e string) string {
		return string(rune(hexByte(e[1:])))
	})
	s = jsonEscRE.ReplaceAllStringFunc(s, func(e string) string {
		return string(rune(hexByte(e[4:])))
	})
	s = strings.NewReplacer(`\n`, "", `\t`, "", `\r`, "").Replace(s)
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune(" -+.\t\r\n", r) {
			return -1
		}
		return r
	}, s)
	return strings.Contains(s, number)
}

var (
	percentEscRE = regexp.MustCompile(`%[0-9a-fA-F]{2}`)
	jsonEscRE    = regexp.MustCompile(`\\u00[0-7][0-9a-fA-F]`)
)

func hexByte(h string) byte {
	var v byte
	for _, c := range []byte(h[:2]) {
		switch {
		case isDigit(c):
			c -= '0'
		case c >= 'a':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		v = v<<4 | c
	}
	return v
}

// TestDocumentMasksNonJSON: a body that is not one JSON value keeps no run of twelve digits,
// however spelled (point 1 of the review). number is the full number the input holds.
func TestDocumentMasksNonJSON(t *testing.T) {
	escaped := `\u0032\u0033\u0034\u0035\u0036\u0037\u0038\u0039\u0030\u0031\u0032\u0034` // aad1
	percent := `%32%33%34%35%36%37%38%39%30%31%32%34`                                     // aad1
	cut := func(s, after string) string { return s[:strings.Index(s, after)+len(after)] }
	tests := []struct{ name, in, number, want string }{
		// The reviewer's inputs; want is only given where the exact bytes are worth pinning.
		{"cut after an exponent", `{"uid":2.34567890124e11`, aad1, `{"uid":X.XXXXXXX0124e11`},
		{"cut partner sample, exponent", cut(withAadhaar(`"customeridentIfication":2.34567890124e11`), "e11"), aad1, ""},
		{"escaped key, cut", `{"aadhaa\u0072":"234567890124"`, aad1, `{"aadhaa\u0072":"XXXXXXXX0124"`},
		{"escaped digits, cut", `{"aadhaar":"` + escaped, aad1,
			`{"aadhaar":"` + strings.Repeat("X", 48) + `\u0030\u0031\u0032\u0034`},
		{"escaped digits, cut inside the last escape", `{"aadhaar":"` + escaped + escaped[:3], aad1, ""},
		{"negative, trailing comma", `{"aadhaar":-234567890124,}`, aad1, `{"aadhaar":-XXXXXXXX0124,}`},
		{"plus sign", `{"aadhaar":+234567890124}`, aad1, `{"aadhaar":+XXXXXXXX0124}`},
		{"single quotes", `{'aadhaar':'234567890124'}`, aad1, `{'aadhaar':'XXXXXXXX0124'}`},
		{"bare key", `{aadhaar: 234567890124}`, aad1, `{aadhaar: XXXXXXXX0124}`},
		{"XML", `<aadhaar>234567890124</aadhaar>`, aad1, `<aadhaar>XXXXXXXX0124</aadhaar>`},
		{"percent-encoded digits", `aadhaar=` + percent, aad1, `aadhaar=` + strings.Repeat("X", 24) + `%30%31%32%34`},
		{"percent-encoded key", `aadh%61ar=234567890124`, aad1, `aadh%61ar=XXXXXXXX0124`},
		// Separators and mixed spellings.
		{"escaped newlines, cut", `{"note":"2345\n6789\n0124`, aad1, `{"note":"XXXX\nXXXX\n0124`},
		{"escaped dashes, cut", `{"note":"2345\u002D6789\u002d0124`, aad1, ""},
		{"CRLF between groups", "aadhaar:\r\n2345\r\n6789\r\n0124", aad1, "aadhaar:\r\nXXXX\r\nXXXX\r\n0124"},
		{"space, dash, space", `{'uid': '2345 - 6789 - 0124'}`, aad1, `{'uid': 'XXXX - XXXX - 0124'}`},
		{"percent-encoded separators", `q=2345%0A6789%2B0124%2e`, aad1, `q=XXXX%0AXXXX%2B0124%2e`},
		{"mixed escapes and plain digits", `{"a":"\u00323%345 6789-0124"`, aad1, `{"a":"XXXXXXXXXXX XXXX-0124"`},
		{"escaped JSON in a cut string", `{"raw":"{\"aadhaar\":\"` + escaped + `\"}`, aad1, ""},
		{"after a backslash pair", `{"a":"\\` + aad1 + `"`, aad1, `{"a":"\\XXXXXXXX0124"`},
		{"16 digits", `{"vid":"2345678901234567"`, "234567890123", `{"vid":"XXXXXXXXXXXX4567"`},
		// Numbers that are not Aadhaar numbers are masked too in bad input (see Document).
		{"timestamp in cut JSON", `{"ts":1700000000000,"x":`, "170000000000", `{"ts":XXXXXXXXX0000,"x":`},
		{"rrn in cut JSON", cut(partnerSample, `"rrn":"230612077853"`), "230612077853", ""},
		{"too deep for the decoder", strings.Repeat("[", 10001) + escaped + strings.Repeat("]", 10001), aad1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			if !leaks(in, tt.number) {
				t.Fatalf("leaks does not see %s in the input %s", tt.number, in)
			}
			orig := append([]byte(nil), in...)
			got, changed := Document(in)
			if !bytes.Equal(in, orig) {
				t.Fatal("Document modified its input")
			}
			if !changed || leaks(got, tt.number) {
				t.Fatalf("Document(%.300s)\n = %.300s, %v: leaks %s", tt.in, got, changed, tt.number)
			}
			if tt.want != "" && string(got) != tt.want {
				t.Fatalf("Document(%s)\n got %s\nwant %s", tt.in, got, tt.want)
			}
			if len(got) != len(in) {
				t.Fatalf("length changed: %d -> %d", len(in), len(got))
			}
			if again, changed := Document(got); changed || !bytes.Equal(again, got) {
				t.Fatalf("not idempotent: %.300s -> %.300s", got, again)
			}
		})
	}
}

// TestDocumentKeepsValidJSON: valid JSON without a full Aadhaar number is returned byte for byte,
// long numbers and all; the run rule is only for bodies that are not one JSON value.
func TestDocumentKeepsValidJSON(t *testing.T) {
	tests := []string{
		ekoResponseSample,
		partnerSample, // rrn 230612077853 and the 19-digit txnId survive
		`{"ts":1700000000000,"rrn":"230612077853","note":"ref 2345 6789 0123","list":[230612077853]}`,
		`{"guid":"234567890123","uuid":234567890123,"uid_hash":"234567890123","aadhaar_last4":"0124"}`, // no check digit
		// References stay exact, even a bare number that passes the check.
		`{"client_ref_id":"234567890124","ClientRefID":234567890124,"tid":"234567890124","bank_ref_num":"234567890124","rrn":"234567890124","txnId":234567890124,"TXN_ID":"234567890124"}`,
		`{"data":{"tid":{"nested":["234567890124"]}},"x":"2345678901241","y":"1234567890124"}`, // 13 digits are not bare
		"{\"note\":\"2345\\n6789\\n0123\",\"t\":\"a\\tb\"}",                                    // not Verhoeff-valid
		`  {"a" : [1, 2.5e3, "x"]}  `,
	}
	for _, in := range tests {
		t.Run("", func(t *testing.T) {
			got, changed := Document([]byte(in))
			if changed || string(got) != in {
				t.Fatalf("Document(%s)\n = %s, %v; want it unchanged", in, got, changed)
			}
		})
	}
	if got, _ := Document([]byte(partnerSample)); !bytes.Contains(got, []byte(`"rrn":"230612077853"`)) {
		t.Fatal("the partner sample's rrn did not survive")
	}
}

// TestDocumentDeep: nesting up to encoding/json's limit is decoded and masked.
func TestDocumentDeep(t *testing.T) {
	in := strings.Repeat("[", 9999) + `{"uid":-234567890124}` + strings.Repeat("]", 9999)
	got, changed := Document([]byte(in))
	want := strings.Repeat("[", 9999) + `{"uid":"-XXXXXXXX0124"}` + strings.Repeat("]", 9999)
	if !changed || string(got) != want {
		t.Fatalf("Document of a deep document: changed %v, %d bytes; holds a full number: %v", changed, len(got), digits9.Match(got))
	}
}

// checkDocument holds Document to what it promises, for any input.
func checkDocument(t *testing.T, in []byte) {
	t.Helper()
	orig := append([]byte(nil), in...)
	got, changed := Document(in)
	if !bytes.Equal(in, orig) {
		t.Fatal("Document modified its input")
	}
	body, bodyChanged := Body(in)
	if bytes.Equal(got, body) {
		if changed != bodyChanged {
			t.Fatalf("Body's result, but changed %v, Body's %v", changed, bodyChanged)
		}
	} else if !changed {
		t.Fatal("re-encoded, but changed is false")
	}
	// Whatever Document returns decodes to nothing left to mask: no value under an Aadhaar key
	// with more than four digits, no string or key that Body would change.
	for _, w := range []walker{{}, {ordered: true}} {
		if v, ok := w.decode(got); ok {
			if _, found := w.mask(v, false, false, 0); found {
				t.Fatalf("Document(%q) = %q still holds something to mask (ordered %v)", in, got, w.ordered)
			}
		}
	}
	// The two decoders agree on what is JSON and on what needs masking.
	fast, okFast := walker{}.decode(in)
	ordered, okOrdered := walker{ordered: true}.decode(in)
	if okFast != okOrdered {
		t.Fatalf("decoders disagree on %q: fast %v, ordered %v", in, okFast, okOrdered)
	}
	if okFast {
		_, f1 := walker{}.mask(fast, false, false, 0)
		_, f2 := walker{ordered: true}.mask(ordered, false, false, 0)
		if f1 != f2 {
			t.Fatalf("decoders disagree on masking %q: fast %v, ordered %v", in, f1, f2)
		}
	}
	// Output that is not one JSON value is the input with bytes turned into 'X', and holds no
	// run of twelve digits.
	if _, ok := (walker{}).decode(got); !ok {
		if len(got) != len(in) {
			t.Fatalf("Document(%q) = %q: not JSON, yet its length changed", in, got)
		}
		for i := range got {
			if got[i] != in[i] && got[i] != 'X' {
				t.Fatalf("Document(%q) = %q: byte %d changed to %q", in, got, i, got[i])
			}
		}
		if m, masked := maskRuns(got); masked {
			t.Fatalf("Document(%q) = %q still holds a run of digits: %q", in, got, m)
		}
	}
	if changed {
		if again, changed2 := Document(got); changed2 || !bytes.Equal(again, got) {
			t.Fatalf("not idempotent:\n in   %q\n out  %q\n out2 %q", in, got, again)
		}
	}
}

func TestDocumentCases(t *testing.T) {
	for _, s := range append(bodySeeds(), oracleSeeds()...) {
		checkDocument(t, []byte(s))
	}
}

func FuzzDocument(f *testing.F) {
	for _, s := range append(bodySeeds(), oracleSeeds()...) {
		f.Add([]byte(s))
	}
	for _, s := range []string{
		withAadhaar(`"customeridentIficatio\u006e":"234567890124"`),
		withAadhaar(`"customeridentIfication":2.34567890124e11`),
		`{"uid":12345,"aadhaar":"\u0032345678901234"}`,
		`["{\"raw\":\"{\\\"ui\\\\u0064\\\":234567890124}\"}"]`,
		`{"a":"2345\u00206789 0124","uid":[1,{"x":"\u00312345"}],"uid":"1"}`,
		`{"aadhaa\u0072":"\u0032\u0033\u0034\u0035 6789%2D0124"`,
		`aadh%61ar=%32%33%34%35%36%37%38%39%30%31%32%34&ts=1700000000000`,
		"<uid>2345\r\n6789\r\n0124</uid>{\"aadhaarNo\":\"2345\\t6789\\t0124\"}",
		`["\u2345 6789 0124","1700000000000"]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(checkDocument)
}

// TestDocumentRandom holds Document to checkDocument on random mixes of the pieces the run rule
// and the decoded check care about, which random bytes rarely hit. The seed is fixed.
func TestDocumentRandom(t *testing.T) {
	pieces := []string{
		`"`, `\`, `\\`, `\"`, `\n`, `\t`, `\r`, "\n", "\r\n", ` `, `-`, `+`, `.`, `:`, `,`, `{`, `}`, `[`, `]`,
		`%`, `%20`, `%2D`, `%0A`, `%32`, `%3`, `\u0032`, `\u0020`, `\u002d`, `\u00`, `\u2345`, `X`, `e`,
		`"aadhaar":`, `"aadhaarNo":`, `"uid":`, `aadhaar=`, `&`, `<uid>`, "0", "2", "12", "2345", "6789",
		aad1, aad2, aad1[:4], aad1[4:8], aad1[8:], group(aad1, " "), group(aad2, `\n`), "1700000000000",
	}
	r := rand.New(rand.NewPCG(3, 4))
	runs := 0
	for range 20000 {
		var sb strings.Builder
		for range 1 + r.IntN(20) {
			sb.WriteString(pieces[r.IntN(len(pieces))])
		}
		in := []byte(sb.String())
		checkDocument(t, in)
		if t.Failed() {
			return
		}
		if body, _ := Body(in); !json.Valid(body) {
			if _, masked := maskRuns(body); masked {
				runs++
			}
		}
	}
	// Guard the generator: it must keep producing bodies that need the run rule.
	if runs < 2000 {
		t.Errorf("only %d of 20000 random bodies needed the run rule", runs)
	}
}
