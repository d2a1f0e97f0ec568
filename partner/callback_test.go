package partner

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// sample is the example of docs/partner-callback.md (rebuilt from the field table), as a map
// so tests can mutate it. Values are raw JSON so that numbers and odd types stay exact.
func sample() map[string]json.RawMessage {
	return map[string]json.RawMessage{
		"statusDesc":             raw(`"Transaction Successful"`),
		"createdDate":            raw(`"2022-11-02 12:12:13"`),
		"updatedDate":            raw(`"2022-11-02 12:12:50"`),
		"productCode":            raw(`"AEPS"`),
		"txnType":                raw(`"AEPS_CASH_WITHDRAWAL"`),
		"txnAmount":              raw(`"2000"`),
		"txnDateTime":            raw(`"2022-11-02 12:12:50"`),
		"customeridentIfication": raw(`"xxxx-xxxx-5604"`),
		"status":                 raw(`"SUCCESS"`),
		"rrn":                    raw(`"230612077853"`),
		"txnId":                  raw(`1037255263620431872`),
		"username":               raw(`"Sagarikatest"`),
		"ClientRefID":            raw(`"20720"`),
		"param_b":                raw(`"771"`),
		"param_c":                raw(`""`),
	}
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func encode(t *testing.T, m map[string]json.RawMessage) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("marshal test body: %v", err)
	}
	return b
}

func with(changes map[string]string) map[string]json.RawMessage {
	m := sample()
	for k, v := range changes {
		if v == "<absent>" {
			delete(m, k)
		} else {
			m[k] = raw(v)
		}
	}
	return m
}

func fieldsOf(errs []FieldError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field)
	}
	return out
}

func TestParseSamples(t *testing.T) {
	ist := IST()
	tests := []struct {
		name        string
		changes     map[string]string
		moneyMoving bool
		known       bool
		amount      string // "" means Amount must be nil
		flags       []string
	}{
		{"cash withdrawal", nil, true, true, "2000", nil},
		{"cash withdrawal amount as number", map[string]string{"txnAmount": `2000.50`}, true, true, "2000.5", nil},
		{"cash withdrawal at lower bound", map[string]string{"txnAmount": `"100"`}, true, true, "100", nil},
		{"cash withdrawal at upper bound", map[string]string{"txnAmount": `"10000.00"`}, true, true, "10000", nil},
		{"balance enquiry empty amount", map[string]string{"txnType": `"AEPS_BALANCE_ENQUIRY"`, "txnAmount": `""`}, false, true, "", nil},
		{"balance enquiry zero amount", map[string]string{"txnType": `"AEPS_BALANCE_ENQUIRY"`, "txnAmount": `"0"`}, false, true, "0", nil},
		{"balance enquiry zero as number", map[string]string{"txnType": `"AEPS_BALANCE_ENQUIRY"`, "txnAmount": `0`}, false, true, "0", nil},
		{"balance enquiry with balance-like amount", map[string]string{"txnType": `"AEPS_BALANCE_ENQUIRY"`, "txnAmount": `"5123.45"`},
			false, true, "5123.45", []string{FlagAmountOnNonMoneyTxn}},
		{"mini statement", map[string]string{"txnType": `"AEPS_MINI_STATEMENT"`, "txnAmount": `""`}, false, true, "", nil},
		{"aadhaar pay", map[string]string{"txnType": `"AADHAAR_PAY"`, "txnAmount": `"500"`}, true, true, "500", nil},
		{"cash deposit", map[string]string{"txnType": `"AEPS_CASH_DEPOSIT"`, "txnAmount": `"10000"`}, true, true, "10000", nil},
		{"txnType in other case", map[string]string{"txnType": `" aeps_cash_withdrawal "`}, true, true, "2000", nil},
		{"unknown txnType is not an error", map[string]string{"txnType": `"AEPS_FUND_TRANSFER"`, "txnAmount": `"50"`},
			false, false, "50", []string{FlagUnknownTxnType}},
		{"rrn and ClientRefID as numbers", map[string]string{"rrn": `230612077853`, "ClientRefID": `20720`}, true, true, "2000", nil},
		{"stray colon in masked Aadhaar", map[string]string{"customeridentIfication": `":xxxx-xxxx-5604"`}, true, true, "2000", nil},
		{"param_c alphanumeric, 20 long", map[string]string{"param_c": `"abcDEF0123456789wxyz"`}, true, true, "2000", nil},
		{"empty statusDesc and productCode allowed", map[string]string{"statusDesc": `""`, "productCode": `""`}, true, true, "2000", nil},
		{"unknown extra key ignored", map[string]string{"param_d": `{"x":[1,2]}`}, true, true, "2000", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, errs, err := Parse(encode(t, with(tt.changes)), nil)
			if err != nil {
				t.Fatalf("Parse error: %v", err)
			}
			if len(errs) != 0 {
				t.Fatalf("unexpected field errors: %+v", errs)
			}
			if c.MoneyMoving() != tt.moneyMoving {
				t.Errorf("MoneyMoving = %v, want %v", c.MoneyMoving(), tt.moneyMoving)
			}
			if c.TxnTypeKnown != tt.known {
				t.Errorf("TxnTypeKnown = %v, want %v", c.TxnTypeKnown, tt.known)
			}
			switch {
			case tt.amount == "" && c.Amount != nil:
				t.Errorf("Amount = %v, want nil", c.Amount)
			case tt.amount != "" && (c.Amount == nil || c.Amount.String() != tt.amount):
				t.Errorf("Amount = %v, want %s", c.Amount, tt.amount)
			}
			if !slices.Equal(c.Flags, tt.flags) {
				t.Errorf("Flags = %q, want %q", c.Flags, tt.flags)
			}
			if c.TxnID != "1037255263620431872" || c.Username != "Sagarikatest" || c.Status != "SUCCESS" {
				t.Errorf("fields not kept: %+v", c)
			}
			if want := time.Date(2022, 11, 2, 12, 12, 13, 0, ist); !c.Created.Equal(want) {
				t.Errorf("Created = %v, want %v", c.Created, want)
			}
			if want := time.Date(2022, 11, 2, 6, 42, 50, 0, time.UTC); !c.Updated.Equal(want) || !c.TxnTime.Equal(want) {
				t.Errorf("Updated, TxnTime = %v, %v, want %v (12:12:50 IST)", c.Updated, c.TxnTime, want)
			}
			if c.Outcome() != OutcomeSuccess {
				t.Errorf("Outcome = %q", c.Outcome())
			}
		})
	}
}

func TestParseKeepsExactText(t *testing.T) {
	c, errs, err := Parse(encode(t, with(map[string]string{"txnAmount": `2000.00`, "ClientRefID": `20720`})), nil)
	if err != nil || len(errs) != 0 {
		t.Fatalf("Parse: %v %+v", err, errs)
	}
	if c.TxnAmount != "2000.00" || c.ClientRefID != "20720" || c.CustomerIdentification != "xxxx-xxxx-5604" {
		t.Fatalf("exact text lost: %+v", c)
	}
}

func TestParseLocation(t *testing.T) {
	c, _, err := Parse(encode(t, sample()), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2022, 11, 2, 12, 12, 13, 0, time.UTC); !c.Created.Equal(want) {
		t.Fatalf("Created = %v, want %v", c.Created, want)
	}
}

func TestParseFieldErrors(t *testing.T) {
	tests := []struct {
		name    string
		changes map[string]string
		want    []string // fields with errors, in table order
	}{
		{"statusDesc missing", map[string]string{"statusDesc": "<absent>"}, []string{FieldStatusDesc}},
		{"createdDate missing", map[string]string{"createdDate": "<absent>"}, []string{FieldCreatedDate}},
		{"createdDate no seconds", map[string]string{"createdDate": `"2022-11-02 12:12"`}, []string{FieldCreatedDate}},
		{"createdDate ISO T", map[string]string{"createdDate": `"2022-11-02T12:12:13"`}, []string{FieldCreatedDate}},
		{"createdDate month 13", map[string]string{"createdDate": `"2022-13-02 12:12:13"`}, []string{FieldCreatedDate}},
		{"createdDate single-digit hour", map[string]string{"createdDate": `"2022-11-02 2:12:13"`}, []string{FieldCreatedDate}},
		{"createdDate with zone", map[string]string{"createdDate": `"2022-11-02 12:12:13+05:30"`}, []string{FieldCreatedDate}},
		{"updatedDate empty", map[string]string{"updatedDate": `""`}, []string{FieldUpdatedDate}},
		{"updatedDate Feb 30", map[string]string{"updatedDate": `"2022-02-30 12:12:13"`}, []string{FieldUpdatedDate}},
		{"productCode missing", map[string]string{"productCode": "<absent>"}, []string{FieldProductCode}},
		{"txnType empty", map[string]string{"txnType": `""`}, []string{FieldTxnType}},
		{"txnType missing", map[string]string{"txnType": "<absent>"}, []string{FieldTxnType}},
		{"txnAmount missing", map[string]string{"txnAmount": "<absent>"}, []string{FieldTxnAmount}},
		{"txnAmount empty for withdrawal", map[string]string{"txnAmount": `""`}, []string{FieldTxnAmount}},
		{"txnAmount zero for withdrawal", map[string]string{"txnAmount": `"0"`}, []string{FieldTxnAmount}},
		{"txnAmount below 100", map[string]string{"txnAmount": `"99.99"`}, []string{FieldTxnAmount}},
		{"txnAmount above 10000", map[string]string{"txnAmount": `"10000.01"`}, []string{FieldTxnAmount}},
		{"txnAmount above 10000 aadhaar pay", map[string]string{"txnType": `"AADHAAR_PAY"`, "txnAmount": `20000`}, []string{FieldTxnAmount}},
		{"txnAmount below 100 deposit", map[string]string{"txnType": `"AEPS_CASH_DEPOSIT"`, "txnAmount": `"50"`}, []string{FieldTxnAmount}},
		{"txnAmount negative", map[string]string{"txnAmount": `"-2000"`}, []string{FieldTxnAmount}},
		{"txnAmount three decimals", map[string]string{"txnAmount": `"2000.005"`}, []string{FieldTxnAmount}},
		{"txnAmount exponent", map[string]string{"txnAmount": `2e3`}, []string{FieldTxnAmount}},
		{"txnAmount words", map[string]string{"txnAmount": `"two thousand"`}, []string{FieldTxnAmount}},
		{"txnAmount with currency", map[string]string{"txnAmount": `"Rs 2000"`}, []string{FieldTxnAmount}},
		{"txnAmount garbage on enquiry", map[string]string{"txnType": `"AEPS_BALANCE_ENQUIRY"`, "txnAmount": `"n/a"`}, []string{FieldTxnAmount}},
		{"txnDateTime bad", map[string]string{"txnDateTime": `"02-11-2022 12:12:50"`}, []string{FieldTxnDateTime}},
		{"customeridentIfication missing", map[string]string{"customeridentIfication": "<absent>"}, []string{FieldCustomerIdentification}},
		{"customeridentIfication fully masked", map[string]string{"customeridentIfication": `"xxxx-xxxx-xxxx"`}, []string{FieldCustomerIdentification}},
		{"customeridentIfication empty", map[string]string{"customeridentIfication": `""`}, []string{FieldCustomerIdentification}},
		{"customeridentIfication unmasked", map[string]string{"customeridentIfication": `"234567890124"`}, []string{FieldCustomerIdentification}},
		{"customeridentIfication unmasked number", map[string]string{"customeridentIfication": `234567890124`}, []string{FieldCustomerIdentification}},
		{"status empty", map[string]string{"status": `"  "`}, []string{FieldStatus}},
		{"status missing", map[string]string{"status": "<absent>"}, []string{FieldStatus}},
		{"rrn 11 digits", map[string]string{"rrn": `"23061207785"`}, []string{FieldRRN}},
		{"rrn 13 digits", map[string]string{"rrn": `"2306120778530"`}, []string{FieldRRN}},
		{"rrn letters", map[string]string{"rrn": `"23061207785A"`}, []string{FieldRRN}},
		{"rrn empty", map[string]string{"rrn": `""`}, []string{FieldRRN}},
		{"txnId missing", map[string]string{"txnId": "<absent>"}, []string{FieldTxnID}},
		{"username empty", map[string]string{"username": `""`}, []string{FieldUsername}},
		{"username 101", map[string]string{"username": `"` + strings.Repeat("u", 101) + `"`}, []string{FieldUsername}},
		{"ClientRefID empty", map[string]string{"ClientRefID": `""`}, []string{FieldClientRefID}},
		{"ClientRefID 21 runes", map[string]string{"ClientRefID": `"` + strings.Repeat("é", 21) + `"`}, []string{FieldClientRefID}},
		// ClientRefID is our key: PostgreSQL text cannot hold a NUL, and invisible characters make
		// lookalike keys. encoding/json decodes invalid UTF-8 to U+FFFD, so that is refused too.
		{"ClientRefID with NUL", map[string]string{"ClientRefID": `"207\u000020"`}, []string{FieldClientRefID}},
		{"ClientRefID ending in NUL", map[string]string{"ClientRefID": `"20720\u0000"`}, []string{FieldClientRefID}},
		{"ClientRefID invalid UTF-8", map[string]string{"ClientRefID": "\"207\xff20\""}, []string{FieldClientRefID}},
		{"ClientRefID U+FFFD", map[string]string{"ClientRefID": `"207\ufffd"`}, []string{FieldClientRefID}},
		{"ClientRefID tab", map[string]string{"ClientRefID": `"207\t20"`}, []string{FieldClientRefID}},
		{"ClientRefID DEL", map[string]string{"ClientRefID": `"20720\u007f"`}, []string{FieldClientRefID}},
		{"ClientRefID C1 control", map[string]string{"ClientRefID": `"20720\u009b"`}, []string{FieldClientRefID}},
		{"ClientRefID zero-width joiner", map[string]string{"ClientRefID": `"207\u200d20"`}, []string{FieldClientRefID}},
		{"param_b 21", map[string]string{"param_b": `"` + strings.Repeat("b", 21) + `"`}, []string{FieldParamB}},
		{"param_b not alphanumeric", map[string]string{"param_b": `"77-1"`}, []string{FieldParamB}},
		{"param_b missing", map[string]string{"param_b": "<absent>"}, []string{FieldParamB}},
		{"param_c space", map[string]string{"param_c": `"a b"`}, []string{FieldParamC}},
		{"param_c non-ASCII letter", map[string]string{"param_c": `"é"`}, []string{FieldParamC}},
		{"param_c missing", map[string]string{"param_c": "<absent>"}, []string{FieldParamC}},
		{"several at once, reported in table order",
			map[string]string{"param_c": `"a b"`, "rrn": `"1"`, "statusDesc": "<absent>", "txnAmount": `"5"`},
			[]string{FieldStatusDesc, FieldTxnAmount, FieldRRN, FieldParamC}},
		{"empty object", nil, fieldNames()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := encode(t, with(tt.changes))
			if tt.name == "empty object" {
				body = []byte(`{}`)
			}
			_, errs, err := Parse(body, nil)
			if err != nil {
				t.Fatalf("Parse error: %v", err)
			}
			if got := fieldsOf(errs); !slices.Equal(got, tt.want) {
				t.Fatalf("error fields = %q, want %q (%+v)", got, tt.want, errs)
			}
			for _, e := range errs {
				if !strings.Contains(e.Message, e.Field) || e.Error() != e.Message {
					t.Errorf("message %q does not name field %s", e.Message, e.Field)
				}
			}
		})
	}
}

func TestParseMessages(t *testing.T) {
	tests := []struct {
		name    string
		changes map[string]string
		want    FieldError
	}{
		{"missing", map[string]string{"rrn": "<absent>"}, FieldError{FieldRRN, "rrn is missing"}},
		{"null", map[string]string{"rrn": `null`}, FieldError{FieldRRN, "rrn must not be null"}},
		{"object", map[string]string{"txnAmount": `{"v":"2000"}`}, FieldError{FieldTxnAmount, "txnAmount must be a string, not an object"}},
		{"list", map[string]string{"username": `["a"]`}, FieldError{FieldUsername, "username must be a string, not a list"}},
		{"bool", map[string]string{"status": `true`}, FieldError{FieldStatus, "status must be a string, not a boolean"}},
		{"range", map[string]string{"txnAmount": `"99"`}, FieldError{FieldTxnAmount, "txnAmount must be between 100 and 10000 for AEPS_CASH_WITHDRAWAL"}},
		{"unmasked", map[string]string{"customeridentIfication": `"2345 6789 0124"`},
			FieldError{FieldCustomerIdentification, "customeridentIfication must be a masked Aadhaar number"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs, err := Parse(encode(t, with(tt.changes)), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(errs) != 1 || errs[0] != tt.want {
				t.Fatalf("errors = %+v, want [%+v]", errs, tt.want)
			}
		})
	}
}

func TestParseTxnID(t *testing.T) {
	tests := []struct {
		name, value string
		want        string // "" means rejected
	}{
		{"big as number", `1037255263620431872`, "1037255263620431872"},
		{"big as string", `"1037255263620431872"`, "1037255263620431872"},
		{"uint64 max as number", `18446744073709551615`, "18446744073709551615"},
		{"uint64 max as string", `"18446744073709551615"`, "18446744073709551615"},
		{"one", `1`, "1"},
		{"2^53+1 as number", `9007199254740993`, "9007199254740993"},
		{"uint64 max + 1", `18446744073709551616`, ""},
		{"21 digits", `"100000000000000000000"`, ""},
		{"fraction", `1.5`, ""},
		{"fraction as string", `"1.5"`, ""},
		{"whole float", `1037255263620431872.0`, ""},
		{"negative", `-3`, ""},
		{"negative string", `"-3"`, ""},
		{"exponent", `1e3`, ""},
		{"exponent string", `"1E3"`, ""},
		{"letters", `"abc"`, ""},
		{"empty", `""`, ""},
		{"zero", `0`, ""},
		{"leading zero", `"0123"`, ""},
		{"plus sign", `"+5"`, ""},
		{"spaces", `" 123 "`, ""},
		{"null", `null`, ""},
		{"bool", `false`, ""},
		{"object", `{}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, errs, err := Parse(encode(t, with(map[string]string{"txnId": tt.value})), nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != "" {
				if len(errs) != 0 || c.TxnID != tt.want {
					t.Fatalf("TxnID = %q, errors %+v; want %s", c.TxnID, errs, tt.want)
				}
				return
			}
			if got := fieldsOf(errs); !slices.Equal(got, []string{FieldTxnID}) {
				t.Fatalf("error fields = %q, want [txnId]", got)
			}
		})
	}
}

func TestParseWrongTypes(t *testing.T) {
	for _, name := range fieldNames() {
		for _, v := range []string{`null`, `true`, `{"a":1}`, `[1,2]`, `[]`, `{}`} {
			t.Run(name+"="+v, func(t *testing.T) {
				c, errs, err := Parse(encode(t, with(map[string]string{name: v})), nil)
				if err != nil {
					t.Fatal(err)
				}
				if got := fieldsOf(errs); !slices.Equal(got, []string{name}) {
					t.Fatalf("error fields = %q, want [%s]", got, name)
				}
				if p := (&c).field(name); *p != "" {
					t.Fatalf("%s = %q, want empty after a type error", name, *p)
				}
			})
		}
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct{ name, body, wantErr string }{
		{"empty", ``, "malformed JSON"},
		{"whitespace", " \n", "malformed JSON"},
		{"garbage", "\xff\xfe", "malformed JSON"},
		{"truncated", `{"statusDesc":"x",`, "malformed JSON"},
		{"unterminated string", `{"statusDesc":"x}`, "malformed JSON"},
		{"missing value", `{"statusDesc":}`, "malformed JSON"},
		{"trailing object", `{}{}`, "trailing data"},
		{"trailing garbage", `{} x`, "malformed JSON"},
		{"trailing comma", `{"a":1,}`, "malformed JSON"},
		{"array", `[{"statusDesc":"x"}]`, "must be a JSON object"},
		{"string", `"hello"`, "must be a JSON object"},
		{"number", `123`, "must be a JSON object"},
		{"null", `null`, "must be a JSON object"},
		{"single quotes", `{'a':1}`, "malformed JSON"},
		{"duplicate known key", `{"rrn":"230612077853","rrn":"230612077854"}`, `duplicate key "rrn"`},
		{"duplicate unknown key", `{"zz":"1","zz":"2"}`, "duplicate key"},
		{"same field twice by case", `{"rrn":"230612077853","RRN":"230612077854"}`, `keys "rrn" and "RRN" both name field rrn`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, errs, err := Parse([]byte(tt.body), nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if errs != nil || fmt.Sprintf("%+v", c) != fmt.Sprintf("%+v", Callback{}) {
				t.Fatalf("want a zero Callback and no field errors, got %+v %+v", c, errs)
			}
		})
	}
}

func TestParseKeyCase(t *testing.T) {
	m := sample()
	m["customerIdentification"] = m["customeridentIfication"]
	delete(m, "customeridentIfication")
	m["clientRefId"] = m["ClientRefID"]
	delete(m, "ClientRefID")
	c, errs, err := Parse(encode(t, m), nil)
	if err != nil || len(errs) != 0 {
		t.Fatalf("Parse: %v %+v", err, errs)
	}
	if c.CustomerIdentification != "xxxx-xxxx-5604" || c.ClientRefID != "20720" {
		t.Fatalf("case variants not read: %+v", c)
	}
	want := []string{FlagKeyCasePrefix + "customerIdentification", FlagKeyCasePrefix + "clientRefId"}
	if !slices.Equal(c.Flags, want) {
		t.Fatalf("Flags = %q, want %q", c.Flags, want)
	}

	// Unicode case folding (long s for s) is not accepted: the field is missing.
	m = sample()
	m["ſtatus"] = m["status"]
	delete(m, "status")
	_, errs, err = Parse(encode(t, m), nil)
	if err != nil || !slices.Equal(fieldsOf(errs), []string{FieldStatus}) {
		t.Fatalf("ſtatus accepted as status: %v %+v", err, errs)
	}
}

func TestParseUnmaskedAadhaar(t *testing.T) {
	const full = "234567890124"
	tests := []struct{ name, value, wantStored string }{
		{"plain string", `"234567890124"`, "XXXXXXXX0124"},
		{"number", `234567890124`, "XXXXXXXX0124"},
		{"spaces", `"2345 6789 0124"`, "XXXX XXXX 0124"},
		{"dashes with colon", `":2345-6789-0124"`, ":XXXX-XXXX-0124"},
		{"16-digit VID", `"2345678901240000"`, "XXXXXXXXXXXX0000"},
		{"partly masked", `"xxxx-6789-0124"`, "xxxx-XXXX-0124"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, errs, err := Parse(encode(t, with(map[string]string{"customeridentIfication": tt.value})), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(fieldsOf(errs), []string{FieldCustomerIdentification}) {
				t.Fatalf("errors = %+v", errs)
			}
			if c.CustomerIdentification != tt.wantStored {
				t.Fatalf("CustomerIdentification = %q, want %q", c.CustomerIdentification, tt.wantStored)
			}
			dump := fmt.Sprintf("%+v %+v %#v", c, errs, c)
			for _, leak := range []string{full, "2345 6789 0124", "2345-6789-0124", "67890124"} {
				if strings.Contains(dump, leak) {
					t.Fatalf("full Aadhaar %q present in %s", leak, dump)
				}
			}
			// The hash covers the masked value too, so it is safe to store.
			if c.ContentHash() == "" {
				t.Fatal("no hash")
			}
		})
	}
}

func TestParseRedactsAadhaarInOtherFields(t *testing.T) {
	c, errs, err := Parse(encode(t, with(map[string]string{"statusDesc": `"Declined for 2345 6789 0124"`})), nil)
	if err != nil || len(errs) != 0 {
		t.Fatalf("Parse: %v %+v", err, errs)
	}
	if c.StatusDesc != "Declined for XXXX XXXX 0124" {
		t.Fatalf("StatusDesc = %q", c.StatusDesc)
	}
	if !slices.Equal(c.Flags, []string{FlagAadhaarRedacted + FieldStatusDesc}) {
		t.Fatalf("Flags = %q", c.Flags)
	}
}

func TestMapStatus(t *testing.T) {
	tests := []struct {
		status string
		want   Outcome
	}{
		{"SUCCESS", OutcomeSuccess},
		{"success", OutcomeSuccess},
		{" Success \n", OutcomeSuccess},
		{"FAILED", OutcomeFailed},
		{"failed", OutcomeFailed},
		{"FAILURE", OutcomeFailed},
		{"AUTH_FAILED", OutcomeFailed},
		{"AUTH_DECLINE", OutcomeFailed},
		{"auth_decline", OutcomeFailed},
		{"AUTH_SUCCESS", OutcomeUnknown},
		{"DEBIT TIMEOUT", OutcomeUnknown},
		{"PENDING", OutcomeUnknown},
		{"SUCCESSFUL", OutcomeUnknown},
		{"SUCCESS FAILED", OutcomeUnknown},
		{"0", OutcomeUnknown},
		{"", OutcomeUnknown},
		{"Transaction Successful", OutcomeUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			if got := MapStatus(tt.status); got != tt.want {
				t.Fatalf("MapStatus(%q) = %q, want %q", tt.status, got, tt.want)
			}
		})
	}
}

func TestOutcomeIgnoresStatusDesc(t *testing.T) {
	c, _, err := Parse(encode(t, with(map[string]string{"status": `"PENDING"`, "statusDesc": `"SUCCESS"`})), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Outcome() != OutcomeUnknown {
		t.Fatalf("Outcome = %q, want unknown", c.Outcome())
	}
}

func TestContentHash(t *testing.T) {
	base := `{"statusDesc":"Transaction Successful","createdDate":"2022-11-02 12:12:13","updatedDate":"2022-11-02 12:12:50",` +
		`"productCode":"AEPS","txnType":"AEPS_CASH_WITHDRAWAL","txnAmount":"2000","txnDateTime":"2022-11-02 12:12:50",` +
		`"customeridentIfication":"xxxx-xxxx-5604","status":"SUCCESS","rrn":"230612077853","txnId":1037255263620431872,` +
		`"username":"Sagarikatest","ClientRefID":"20720","param_b":"771","param_c":""}`
	reordered := "{\n  \"txnId\" : \"1037255263620431872\",\n  \"param_c\": \"\",\n  \"param_b\": \"771\",\n" +
		"  \"ClientRefID\": 20720, \"username\": \"Sagarikatest\", \"rrn\": 230612077853, \"status\": \"SUCCESS\",\n" +
		"  \"customeridentIfication\": \"xxxx-xxxx-5604\", \"txnDateTime\": \"2022-11-02 12:12:50\", \"txnAmount\": 2000,\n" +
		"  \"txnType\": \"AEPS_CASH_WITHDRAWAL\", \"productCode\": \"AEPS\", \"updatedDate\": \"2022-11-02 12:12:50\",\n" +
		"  \"createdDate\": \"2022-11-02 12:12:13\", \"statusDesc\": \"Transaction Successful\", \"extra\": [1]\n}\n"
	hash := func(body []byte) string {
		t.Helper()
		c, errs, err := Parse(body, nil)
		if err != nil || len(errs) != 0 {
			t.Fatalf("Parse(%s): %v %+v", body, err, errs)
		}
		return c.ContentHash()
	}
	h := hash([]byte(base))
	if len(h) != 64 {
		t.Fatalf("hash %q is not hex SHA-256", h)
	}
	if got := hash([]byte(reordered)); got != h {
		t.Fatal("same content in another order, spacing and number/string form hashes differently")
	}
	if got := hash(encode(t, sample())); got != h {
		t.Fatal("sample() and the literal differ")
	}

	changes := map[string]string{
		"statusDesc":             `"Transaction Successful."`,
		"createdDate":            `"2022-11-02 12:12:14"`,
		"updatedDate":            `"2022-11-02 12:12:51"`,
		"productCode":            `"AEPS2"`,
		"txnType":                `"AADHAAR_PAY"`,
		"txnAmount":              `"2000.00"`, // exact text: a different spelling is a conflict
		"txnDateTime":            `"2022-11-02 12:12:51"`,
		"customeridentIfication": `"xxxx-xxxx-5605"`,
		"status":                 `"FAILED"`,
		"rrn":                    `"230612077854"`,
		"txnId":                  `1037255263620431873`,
		"username":               `"Sagarikatest2"`,
		"ClientRefID":            `"20721"`,
		"param_b":                `"772"`,
		"param_c":                `"x"`,
	}
	if len(changes) != len(fieldNames()) {
		t.Fatal("every field must have a change")
	}
	for field, v := range changes {
		t.Run(field, func(t *testing.T) {
			if got := hash(encode(t, with(map[string]string{field: v}))); got == h {
				t.Fatalf("changing %s did not change the hash", field)
			}
		})
	}
	// Length prefixes keep field boundaries: moving a character between fields changes the hash.
	a := Callback{ParamB: "ab", ParamC: "c"}
	b := Callback{ParamB: "a", ParamC: "bc"}
	if a.ContentHash() == b.ContentHash() {
		t.Fatal("field boundaries not encoded")
	}
}

func TestValidateStandalone(t *testing.T) {
	c, errs, err := Parse(encode(t, sample()), nil)
	if err != nil || len(errs) != 0 {
		t.Fatal(err, errs)
	}
	if got := c.Validate(); len(got) != 0 {
		t.Fatalf("Validate on a parsed valid callback: %+v", got)
	}
	c.RRN = "1"
	c.CustomerIdentification = "234567890124"
	got := c.Validate()
	if !slices.Equal(fieldsOf(got), []string{FieldCustomerIdentification, FieldRRN}) {
		t.Fatalf("Validate = %+v", got)
	}
	if got := fieldsOf((Callback{}).Validate()); !slices.Equal(got, []string{
		FieldCreatedDate, FieldUpdatedDate, FieldTxnType, FieldTxnDateTime, FieldCustomerIdentification,
		FieldStatus, FieldRRN, FieldTxnID, FieldUsername, FieldClientRefID,
	}) {
		t.Fatalf("Validate on zero Callback: %q", got)
	}
}

func TestMoneyMoving(t *testing.T) {
	tests := []struct {
		txnType string
		want    bool
	}{
		{TxnCashWithdrawal, true},
		{TxnAadhaarPay, true},
		{TxnCashDeposit, true},
		{"aadhaar_pay", true},
		{TxnBalanceEnquiry, false},
		{TxnMiniStatement, false},
		{"AEPS_FUND_TRANSFER", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.txnType, func(t *testing.T) {
			if got := (Callback{TxnType: tt.txnType}).MoneyMoving(); got != tt.want {
				t.Fatalf("MoneyMoving(%q) = %v, want %v", tt.txnType, got, tt.want)
			}
		})
	}
}

func TestIST(t *testing.T) {
	_, off := time.Date(2022, 11, 2, 0, 0, 0, 0, IST()).Zone()
	if off != 19800 {
		t.Fatalf("IST offset = %d, want 19800", off)
	}
}

func FuzzParse(f *testing.F) {
	base := `{"statusDesc":"Transaction Successful","createdDate":"2022-11-02 12:12:13","updatedDate":"2022-11-02 12:12:50",` +
		`"productCode":"AEPS","txnType":"AEPS_CASH_WITHDRAWAL","txnAmount":"2000","txnDateTime":"2022-11-02 12:12:50",` +
		`"customeridentIfication":"234567890124","status":"SUCCESS","rrn":"230612077853","txnId":1037255263620431872,` +
		`"username":"Sagarikatest","ClientRefID":"20720","param_b":"771","param_c":""}`
	for _, s := range []string{base, `{}`, `[]`, `{"txnId":1e3}`, `{"txnAmount":{"a":[1,{}]}}`, `{"rrn":null,"RRN":1}`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, errs, err := Parse(body, nil)
		if err != nil {
			if errs != nil {
				t.Fatal("both an error and field errors")
			}
			return
		}
		// Masked or not, the returned identification never keeps more than the last 4 digits.
		digits := 0
		for _, r := range c.CustomerIdentification {
			if r >= '0' && r <= '9' {
				digits++
			}
		}
		if digits > 4 {
			t.Fatalf("CustomerIdentification keeps %d digits: %q", digits, c.CustomerIdentification)
		}
		if c.ContentHash() != c.ContentHash() {
			t.Fatal("ContentHash not deterministic")
		}
		for _, e := range errs {
			if e.Field == "" || e.Message == "" {
				t.Fatalf("empty FieldError %+v", e)
			}
		}
	})
}

func TestParseLengthLimits(t *testing.T) {
	long := func(n int) string { return `"` + strings.Repeat("A", n) + `"` }
	tests := []struct {
		name    string
		changes map[string]string
		want    []string
	}{
		{"txnType at limit is only unknown", map[string]string{"txnType": long(MaxCode), "txnAmount": `""`}, nil},
		{"txnType over limit", map[string]string{"txnType": long(MaxCode + 1)}, []string{FieldTxnType}},
		{"status over limit", map[string]string{"status": long(MaxCode + 1)}, []string{FieldStatus}},
		{"productCode over limit", map[string]string{"productCode": long(MaxCode + 1)}, []string{FieldProductCode}},
		{"statusDesc at limit", map[string]string{"statusDesc": long(MaxStatusDesc)}, nil},
		{"statusDesc over limit", map[string]string{"statusDesc": long(MaxStatusDesc + 1)}, []string{FieldStatusDesc}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs, err := Parse(encode(t, with(tt.changes)), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := fieldsOf(errs); !slices.Equal(got, tt.want) {
				t.Fatalf("error fields = %q, want %q (%+v)", got, tt.want, errs)
			}
		})
	}
}

func TestTxType(t *testing.T) {
	tests := []struct{ txnType, want string }{
		{TxnCashWithdrawal, TxTypeCashWithdrawal},
		{" aeps_balance_enquiry ", TxTypeBalanceInquiry},
		{TxnMiniStatement, TxTypeMiniStatement},
		{TxnAadhaarPay, TxTypeAadhaarPay},
		{TxnCashDeposit, TxTypeCashDeposit},
		{"AEPS_FUND_TRANSFER", "aeps_fund_transfer"},
	}
	for _, tt := range tests {
		t.Run(tt.txnType, func(t *testing.T) {
			if got := TxType(tt.txnType); got != tt.want {
				t.Fatalf("TxType(%q) = %q, want %q", tt.txnType, got, tt.want)
			}
		})
	}
}

func TestDetailsHash(t *testing.T) {
	parse := func(changes map[string]string) Callback {
		t.Helper()
		c, errs, err := Parse(encode(t, with(changes)), nil)
		if err != nil || len(errs) != 0 {
			t.Fatalf("Parse: %v %+v", err, errs)
		}
		return c
	}
	base := parse(nil).DetailsHash()
	same := []map[string]string{
		{"txnAmount": `"2000.00"`},
		{"txnId": `"1037255263620431873"`, "status": `"FAILED"`, "rrn": `"230612077854"`, "statusDesc": `"x"`},
		{"txnType": `"aeps_cash_withdrawal"`},
	}
	for _, ch := range same {
		if got := parse(ch).DetailsHash(); got != base {
			t.Errorf("DetailsHash changed with %v", ch)
		}
	}
	differ := []map[string]string{
		{"txnAmount": `"2001"`},
		{"username": `"other"`},
		{"ClientRefID": `"20721"`},
		{"txnType": `"AADHAAR_PAY"`},
	}
	for _, ch := range differ {
		if got := parse(ch).DetailsHash(); got == base {
			t.Errorf("DetailsHash unchanged with %v", ch)
		}
	}
	enquiry := map[string]string{"txnType": `"AEPS_BALANCE_ENQUIRY"`}
	enquiry["txnAmount"] = `""`
	empty := parse(enquiry).DetailsHash()
	enquiry["txnAmount"] = `"0"`
	if parse(enquiry).DetailsHash() != empty {
		t.Error("an empty and a zero amount differ")
	}
}

func TestDescribe(t *testing.T) {
	errs := []FieldError{{"a", "a is bad"}, {"b", "b is bad"}, {"c", "c is bad"}, {"d", "d is bad"}, {"e", "e is bad"}}
	tests := []struct {
		n    int
		want string
	}{
		{0, ""},
		{1, "a is bad"},
		{3, "a is bad; b is bad; c is bad"},
		{5, "a is bad; b is bad; c is bad; and 2 more"},
	}
	for _, tt := range tests {
		if got := Describe(errs[:tt.n]); got != tt.want {
			t.Errorf("Describe(%d errors) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

// Free text is the partner's business: a NUL or invalid UTF-8 in it is no field error (storage
// makes it storable), since refusing would lose news of money moved. Only ClientRefID is judged.
func TestParseFreeTextMayHoldAnything(t *testing.T) {
	tests := []struct {
		name    string
		changes map[string]string
	}{
		{"statusDesc with NUL", map[string]string{"statusDesc": `"Transaction\u0000Successful"`}},
		{"statusDesc with invalid UTF-8", map[string]string{"statusDesc": "\"Transaction \xff\xfe Successful\""}},
		{"productCode with NUL", map[string]string{"productCode": `"AEPS\u0000"`}},
		{"username with NUL", map[string]string{"username": `"Sagarika\u0000test"`}},
		{"status with NUL", map[string]string{"status": `"SUCCESS\u0000"`}},
		{"txnType with NUL", map[string]string{"txnType": `"AEPS_CASH\u0000"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs, err := Parse(encode(t, with(tt.changes)), nil)
			if err != nil || len(errs) != 0 {
				t.Fatalf("Parse: %v %+v, want no errors", err, errs)
			}
		})
	}
	// Validate judges a Callback from any source, e.g. one whose bytes never passed a decoder.
	c, _, err := Parse(encode(t, sample()), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.ClientRefID = "207\xff20"
	if got := fieldsOf(c.Validate()); !slices.Equal(got, []string{FieldClientRefID}) {
		t.Fatalf("Validate with invalid UTF-8 in ClientRefID: %q", got)
	}
}
