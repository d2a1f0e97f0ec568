package eko

import (
	"testing"

	"github.com/shopspring/decimal"
)

// Whatever arrives, parsing never panics, and what it accepts satisfies the debit-hook rules.
func FuzzParseCallback(f *testing.F) {
	for _, seed := range []string{
		`{"action":"debit-hook","detail":{"client_ref_id":"1540880592059","request_hash_params":["customer_id","amount","user_code"],"data":{"customer_id":"9999999999","bank_code":"PUNB","type":"2","user_code":"20810200","amount":"100"}}}`,
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
		}
		if r, err := ParseEkoResponse(env.Detail); err == nil && (r.ClientRefID == "" || len(r.ContentHash) != 64) {
			t.Fatalf("accepted response without reference or hash: %+v", r)
		}
	})
}
