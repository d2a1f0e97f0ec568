package callback

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/aepsflow/aepsflow/redact"
)

// Whatever arrives, parsing never panics, and what it accepts satisfies the debit-hook rules and
// signs exactly its booking (checkSignsBooking). The seeds run in every plain go test.
func FuzzParseCallback(f *testing.F) {
	for _, seed := range []string{
		`{"action":"debit-hook","detail":{"client_ref_id":"1540880592059","request_hash_params":["customer_id","amount","user_code"],"data":{"customer_id":"9999999999","bank_code":"PUNB","type":"2","user_code":"20810200","amount":"100"}}}`,
		`{"action":"debit-hook","detail":{"client_ref_id":"1540880592059","request_hash_params":["customer_id","amount","user_code"],"data":{"customer_id":"9999999999","bank_code":"PUNB","type":"3","user_code":"20810200"}}}`,
		`{"action":"debit-hook","detail":{"client_ref_id":"1540880592059","request_hash_params":["customer_id","user_code"],"data":{"customer_id":9999999999,"bank_code":607094,"type":4,"user_code":20810200}}}`,
		`{"action":"debit-hook","detail":{"client_ref_id":1,"request_hash_params":["customer_id","amount","user_code"],"data":{"customer_id":9999999999,"type":2,"user_code":"२०८१","amount":150.50}}}`,
		// Issue 10's edited debit-hooks.
		`{"action":"debit-hook","detail":{"client_ref_id":"1","request_hash_params":["customer_id","amount","user_code"],"data":{"customer_id":"9999999999","type":"3","user_code":"20810200","amount":"10000"}}}`,
		`{"action":"debit-hook","detail":{"client_ref_id":"1","request_hash_params":["customer_id","amt2","user_code"],"data":{"customer_id":"9999999999","type":"2","user_code":"20810200","amount":"100","amt2":"10000"}}}`,
		`{"action":"debit-hook","detail":{"client_ref_id":"1","request_hash_params":["customer_id","amount","bank_code","user_code"],"data":{"customer_id":"9999999999","bank_code":"0","type":"2","user_code":"20810200","amount":"1000"}}}`,
		`{"action":"debit-hook","detail":{"client_ref_id":"1","request_hash_params":["customer_id","amount","user_code"],"data":{"customer_id":"9999999999","type":"2","user_code":"20810200","amount":"100","\u0061mount":"10000"}}}`,
		`{"action":"debit-hook","detail":{"client_ref_id":"1","request_hash_params":["customer_id","amount","user_code"],"data":{"customer_id":"9999999999","bank_code":"234567890124","type":"3","user_code":"20810200"}},"p":"2345 6789 0124"}`,
		`{"action":"debit-hook","detail":{"client_ref_id":1,"request_hash_params":[],"data":{"customer_id":9999999999,"type":3,"user_code":1}}}`,
		`{"action":"eko-response","detail":{"client_ref_id":"1","response":{"status":0,"data":{"tx_status":0,"amount":"2000.0"}}}}`,
		`{"action":"debit-hook","detail":{"data":{"amount":{"x":1}},"request_hash_params":["amount"]}}`,
		`{"action":"debit-hook","detail":null}`, `[]`, `{}}`, `"x"`, ``,
	} {
		f.Add([]byte(seed))
	}
	rules := Rules{MinAmount: decimal.NewFromInt(100), MaxAmount: decimal.NewFromInt(10000), Multiple: decimal.NewFromInt(50)}
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := ParseEnvelope(body)
		if err != nil {
			return
		}
		if h, err := ParseDebitHook(env.Detail, rules); err == nil {
			if n := len([]rune(h.ClientRefID)); n < 1 || n > 20 {
				t.Fatalf("accepted client_ref_id of %d characters", n)
			}
			if _, ok := TypeName(h.TypeCode); !ok {
				t.Fatalf("accepted type %q", h.TypeCode)
			}
			if h.Type == TypeCashWithdrawal && (h.Amount.LessThan(rules.MinAmount) || h.Amount.GreaterThan(rules.MaxAmount) || !h.Amount.Mod(rules.Multiple).IsZero()) {
				t.Fatalf("accepted amount %s", h.Amount)
			}
			if !mobileRE.MatchString(h.Data["customer_id"]) {
				t.Fatalf("accepted customer_id %q", h.Data["customer_id"])
			}
			checkSignsBooking(t, h)
			checkNothingPersonalBooked(t, h.Booking())
		}
		if r, err := ParseEkoResponse(env.Detail); err == nil && (r.ClientRefID == "" || len(r.ContentHash) != 64) {
			t.Fatalf("accepted response without reference or hash: %+v", r)
		}
	})
}

// FuzzDebitHookFields builds debit-hooks field by field, so that the fuzzer explores names,
// types, JSON numbers and unicode inside a well-formed request rather than its syntax. Every one
// accepted signs its booking and nothing else; every booked value is one the rules allow.
func FuzzDebitHookFields(f *testing.F) {
	type seed struct {
		params                            string // comma-separated names
		typ, customer, user, amount, bank string
		numbers                           uint8 // bit i: send field i as a JSON number when it is one
		extraName, extraValue             string
	}
	for _, s := range []seed{
		{"customer_id,amount,user_code", "2", "9999999999", "20810200", "100", "PUNB", 0, "", ""},
		{"customer_id,amount,user_code", "2", "9999999999", "20810200", "2500.00", "607094", 0xff, "", ""},
		{"customer_id,amount,user_code", "3", "9999999999", "20810200", "", "PUNB", 0, "", ""},
		{"customer_id,user_code", "4", "9999999999", "20810200", "", "SBIN0001234", 0, "", ""},
		{"customer_id,amount,user_code", "3", "9999999999", "20810200", "10000", "PUNB", 0, "", ""},
		{"customer_id,amt2,user_code", "2", "9999999999", "20810200", "100", "PUNB", 0, "amt2", "10000"},
		{"customer_id,amount,bank_code,user_code", "2", "9999999999", "20810200", "1000", "0", 0, "", ""},
		{"customer_id,amount,amount,user_code", "2", "9999999999", "20810200", "100", "PUNB", 0, "", ""},
		{"customer_id,amount,user_code", "3", "9999999999", "20810200", "234567890124", "234567890124", 0x0c, "", ""},
		{"customer_id,amount,user_code", "2", "९९९९९९९९९९", "२०८१०२००", "१००", "पीएनबी", 0, "amount", "10000"},
		{"user_code,customer_id", "3", "9999999999", "A-1 é", "", "", 0, "type", "2"},
	} {
		f.Add(s.params, s.typ, s.customer, s.user, s.amount, s.bank, s.numbers, s.extraName, s.extraValue)
	}
	rules := Rules{MinAmount: decimal.NewFromInt(100), MaxAmount: decimal.NewFromInt(10000), Multiple: decimal.NewFromInt(50)}
	f.Fuzz(func(t *testing.T, params, typ, customer, user, amount, bank string, numbers uint8, extraName, extraValue string) {
		data := []member{}
		for i, kv := range [][2]string{{"type", typ}, {"customer_id", customer}, {"user_code", user}, {"amount", amount}, {"bank_code", bank}, {extraName, extraValue}} {
			if kv[0] == "" || (kv[0] == "amount" && amount == "") || (kv[0] == "bank_code" && bank == "") {
				continue
			}
			data = append(data, member{kv[0], jsonValue(kv[1], numbers&(1<<i) != 0)})
		}
		var names []string
		if params != "" {
			names = strings.Split(params, ",")
		}
		p, _ := json.Marshal(names)
		detail := `{"client_ref_id":"1540880592059","request_hash_params":` + string(p) + `,"data":` + encodeObject(data) + `}`
		h, err := ParseDebitHook(json.RawMessage(detail), rules)
		if err != nil {
			return
		}
		checkSignsBooking(t, h)
		checkNothingPersonalBooked(t, h.Booking())
	})
}

type member struct{ key, value string } // value is JSON

// jsonValue is s as a JSON number when asked and s is one, else as a JSON string.
func jsonValue(s string, number bool) string {
	if number && json.Valid([]byte(s)) && s != "" && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) {
		return s
	}
	b, _ := json.Marshal(s)
	return string(b)
}

func encodeObject(ms []member) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		b.WriteString(m.value)
	}
	b.WriteByte('}')
	return b.String()
}

// checkNothingPersonalBooked: no booked value can hold an Aadhaar number (nor a bank_code a
// mobile number); the amount is booked for withdrawals only.
func checkNothingPersonalBooked(t *testing.T, b Booking) {
	t.Helper()
	for _, v := range []string{b.Amount, b.BankCode, b.UserCode} {
		if digitCount(v) >= longDigits || redact.IsFullAadhaar(v) {
			t.Fatalf("booked a value that may be an Aadhaar number: %+v", b)
		}
	}
	if digitCount(b.BankCode) > bankCodeDigits {
		t.Fatalf("booked bank_code %q", b.BankCode)
	}
	if b.Type != TypeCashWithdrawal && b.Amount != "" {
		t.Fatalf("booked an amount on a %s", b.Type)
	}
}
