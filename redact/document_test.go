package redact

import (
	"bytes"
	"encoding/json"
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
		// Body's masking of a number literal leaves no JSON; the input is checked instead.
		{"bare number masked by Body, escaped digits elsewhere",
			`{"uid":12345,"aadhaar":"\u0032\u0033\u0034\u0035\u0036\u0037\u0038\u0039\u0030\u0031\u0032\u0034","q":"x&aadhar=234567890124"}`,
			`{"uid":"X2345","aadhaar":"XXXXXXXX0124","q":"x&aadhar=XXXXXXXX0124"}`},
		{"bare number alone", `{"aadhaar":234567890124,"x":1}`, `{"aadhaar":"XXXXXXXX0124","x":1}`},
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
		`{"customer_uid":-234567890124,"uid2":"\u0032345678901234"}`, // not Aadhaar keys
		`{"aadhaar":"xxxx","aadhaar":"XXXX XXXX 1234"}`,
		// Not one JSON value: Body is all there is.
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
			if _, found := w.mask(v, false, 0); found {
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
		_, f1 := walker{}.mask(fast, false, 0)
		_, f2 := walker{ordered: true}.mask(ordered, false, 0)
		if f1 != f2 {
			t.Fatalf("decoders disagree on masking %q: fast %v, ordered %v", in, f1, f2)
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
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(checkDocument)
}
