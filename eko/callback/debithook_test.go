package callback

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aepsflow/aepsflow/eko/sign"
)

// hookDetail builds a debit-hook detail from raw JSON for request_hash_params and data.
func hookDetail(params, data string) string {
	return `{"client_ref_id":"1540880592059","request_hash_params":` + params + `,"data":` + data + `}`
}

const (
	guideParams = `["customer_id","amount","user_code"]`
	cashData    = `{"customer_id":"9999999999","bank_code":"PUNB","type":"2","user_code":"20810200","amount":"100"}`
	biData      = `{"customer_id":"9999999999","bank_code":"PUNB","type":"3","user_code":"20810200"}`
	msData      = `{"customer_id":"9999999999","bank_code":"PUNB","type":"4","user_code":"20810200"}`
	aadhaar     = "234567890124" // valid Verhoeff check digit
)

// Only the request_hash_params lists Eko documents are accepted, and a debit-hook carries nothing
// that could make the signed string differ from the booked transaction's.
func TestParseDebitHookSignedFields(t *testing.T) {
	tests := []struct {
		name    string
		detail  string
		wantErr string // "" means accepted
	}{
		// Eko's documented lists, and the worked examples of its guide (docs/eko-aeps.md#signing).
		{"guide cash withdrawal", hookDetail(guideParams, cashData), ""},
		{"guide balance inquiry: amount named, absent", hookDetail(guideParams, biData), ""},
		{"guide mini statement: amount named, absent", hookDetail(guideParams, msData), ""},
		{"balance inquiry without amount in the list", hookDetail(`["customer_id","user_code"]`, biData), ""},
		{"mini statement without amount in the list", hookDetail(`["customer_id","user_code"]`, msData), ""},
		{"params spelled with escapes", hookDetail(`["customer\u005fid","amount","user_code"]`, cashData), ""},
		{"bank_code an IIN as a JSON number", hookDetail(guideParams, `{"customer_id":"9999999999","bank_code":607094,"type":"2","user_code":"20810200","amount":"100"}`), ""},
		{"bank_code an IFSC", hookDetail(guideParams, `{"customer_id":"9999999999","bank_code":"SBIN0001234","type":"2","user_code":"20810200","amount":"100"}`), ""},
		{"no bank_code", hookDetail(guideParams, `{"customer_id":"9999999999","type":"2","user_code":"20810200","amount":"100"}`), ""},

		// Finding 1: a withdrawal booked or signed as something else.
		{"type 3 carrying an amount", hookDetail(guideParams, `{"customer_id":"9999999999","bank_code":"PUNB","type":"3","user_code":"20810200","amount":"10000"}`),
			"amount must not be sent with a balance inquiry or mini statement"},
		{"type 4 carrying an amount", hookDetail(`["customer_id","user_code"]`, `{"customer_id":"9999999999","type":"4","user_code":"20810200","amount":"100"}`),
			"amount must not be sent with a balance inquiry"},
		{"type 3 carrying an empty amount", hookDetail(`["customer_id","user_code"]`, `{"customer_id":"9999999999","type":"3","user_code":"20810200","amount":""}`),
			"amount must not be sent"},
		{"type 3 carrying a null amount", hookDetail(`["customer_id","user_code"]`, `{"customer_id":"9999999999","type":"3","user_code":"20810200","amount":null}`),
			"amount must not be sent"},
		{"amt2 signed instead of amount", hookDetail(`["customer_id","amt2","user_code"]`, `{"customer_id":"9999999999","type":"2","user_code":"20810200","amount":"100","amt2":"10000"}`),
			"request_hash_params names amt2, which Eko does not sign"},
		{"bank_code signed too", hookDetail(`["customer_id","amount","bank_code","user_code"]`, `{"customer_id":"9999999999","bank_code":"0","type":"2","user_code":"20810200","amount":"1000"}`),
			"request_hash_params names bank_code, which Eko does not sign"},
		{"a name repeated", hookDetail(`["customer_id","amount","amount","user_code"]`, cashData), "request_hash_params names amount more than once"},
		{"user_code repeated", hookDetail(`["customer_id","amount","user_code","user_code"]`, cashData), "names user_code more than once"},
		{"cash withdrawal in another order", hookDetail(`["user_code","amount","customer_id"]`, cashData), "must be customer_id, amount, user_code, in that order"},
		{"cash withdrawal without amount in the list", hookDetail(`["customer_id","user_code"]`, cashData), "must be customer_id, amount, user_code, in that order"},
		{"cash withdrawal with an empty list", hookDetail(`[]`, cashData), "must be customer_id, amount, user_code, in that order"},
		{"balance inquiry in another order", hookDetail(`["user_code","customer_id"]`, biData), "must be customer_id, user_code for a balance inquiry"},
		{"balance inquiry with customer_id only", hookDetail(`["customer_id"]`, biData), "must be customer_id, user_code for a balance inquiry"},
		{"a name with different case", hookDetail(`["customer_id","Amount","user_code"]`, cashData), "names Amount, which Eko does not sign"},
		{"a name with a trailing space", hookDetail(`["customer_id","amount ","user_code"]`, cashData), "names a field, which Eko does not sign"},
		{"a name that is an Aadhaar number is not quoted", hookDetail(`["customer_id","`+aadhaar+`","user_code"]`, cashData), "names a field, which Eko does not sign"},
		{"type as a field name", hookDetail(`["type","customer_id","amount","user_code"]`, cashData), "names type, which Eko does not sign"},

		// Structure: two values for one name.
		{"amount sent twice", hookDetail(guideParams, `{"customer_id":"9999999999","type":"2","user_code":"20810200","amount":"100","amount":"10000"}`), "data.amount is sent more than once"},
		{"amount sent twice, once escaped", hookDetail(guideParams, `{"customer_id":"9999999999","type":"2","user_code":"20810200","amount":"100","\u0061mount":"10000"}`), "data.amount is sent more than once"},
		{"data sent twice", `{"client_ref_id":"1","request_hash_params":` + guideParams + `,"data":` + cashData + `,"data":` + biData + `}`, "detail.data is sent more than once"},
		{"request_hash_params sent twice", `{"client_ref_id":"1","request_hash_params":["customer_id","amt2","user_code"],"data":` + cashData + `,"request_hash_params":` + guideParams + `}`, "detail.request_hash_params is sent more than once"},
		{"Data in other case is not data", `{"client_ref_id":"1","request_hash_params":` + guideParams + `,"Data":` + cashData + `}`, "data is missing"},

		// bank_code must be a bank code (finding 6: never a number that could be someone's).
		{"bank_code an Aadhaar number", hookDetail(guideParams, `{"customer_id":"9999999999","bank_code":"`+aadhaar+`","type":"2","user_code":"20810200","amount":"100"}`), "bank_code must be a bank code"},
		{"bank_code an Aadhaar number as a JSON number", hookDetail(guideParams, `{"customer_id":"9999999999","bank_code":`+aadhaar+`,"type":"2","user_code":"20810200","amount":"100"}`), "bank_code must be a bank code"},
		{"bank_code a written Aadhaar number", hookDetail(guideParams, `{"customer_id":"9999999999","bank_code":"2345 6789 0124","type":"2","user_code":"20810200","amount":"100"}`), "bank_code must be a bank code"},
		{"bank_code a mobile number", hookDetail(guideParams, `{"customer_id":"9999999999","bank_code":"9876543210","type":"2","user_code":"20810200","amount":"100"}`), "bank_code must be a bank code"},
		{"bank_code empty", hookDetail(guideParams, `{"customer_id":"9999999999","bank_code":"","type":"2","user_code":"20810200","amount":"100"}`), "bank_code must be a bank code"},
		{"bank_code null", hookDetail(guideParams, `{"customer_id":"9999999999","bank_code":null,"type":"2","user_code":"20810200","amount":"100"}`), "bank_code must be a bank code"},
		{"bank_code an object", hookDetail(guideParams, `{"customer_id":"9999999999","bank_code":{"c":"PUNB"},"type":"2","user_code":"20810200","amount":"100"}`), "bank_code must be a bank code"},
		{"bank_code with a dash", hookDetail(guideParams, `{"customer_id":"9999999999","bank_code":"PU-NB","type":"2","user_code":"20810200","amount":"100"}`), "bank_code must be a bank code"},
		{"bank_code in Devanagari digits", hookDetail(guideParams, `{"customer_id":"9999999999","bank_code":"६०७०९४","type":"2","user_code":"20810200","amount":"100"}`), "bank_code must be a bank code"},
		{"amount an Aadhaar number on a balance inquiry", hookDetail(guideParams, `{"customer_id":"9999999999","type":"3","user_code":"20810200","amount":"`+aadhaar+`"}`), "amount must not be sent"},
		{"amount an Aadhaar number on a withdrawal", hookDetail(guideParams, `{"customer_id":"9999999999","type":"2","user_code":"20810200","amount":`+aadhaar+`}`), "amount is not a valid amount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseDebitHook(json.RawMessage(tt.detail), rules)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				checkSignsBooking(t, h)
				return
			}
			var verr *ValidationError
			if !errors.As(err, &verr) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want a *ValidationError containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), aadhaar) || strings.Contains(err.Error(), "10000") {
				t.Fatalf("the reason quotes a value: %q", err)
			}
		})
	}
}

// checkSignsBooking holds the invariant for an accepted debit-hook: the string Eko's documented
// algorithm builds from the request as sent (request_hash_params over data) is the string the
// booked values give, which is timestamp + customer_id + amount + user_code as booked (amount
// only for a cash withdrawal).
func checkSignsBooking(t *testing.T, h DebitHook) {
	t.Helper()
	const ts = "1532582133692"
	b := h.Booking()
	params, data, err := b.HashParams()
	if err != nil {
		t.Fatalf("accepted %+v but cannot sign its booking %+v: %v", h, b, err)
	}
	booked := sign.RequestSignature(ts, params, data)
	want := ts + b.CustomerID + b.UserCode
	if b.Type == TypeCashWithdrawal {
		want = ts + b.CustomerID + b.Amount + b.UserCode
	} else if b.Amount != "" {
		t.Fatalf("a %s booked an amount %q", b.Type, b.Amount)
	}
	if booked != want {
		t.Fatalf("booked signature %q, want %q", booked, want)
	}
	if sent := sign.RequestSignature(ts, h.RequestHashParams, h.Data); sent != booked {
		t.Fatalf("the request as sent signs %q, the booking %q", sent, booked)
	}
	if b.CustomerID != h.Data["customer_id"] || b.UserCode != h.Data["user_code"] || b.BankCode != h.Data["bank_code"] || b.Type != h.Type {
		t.Fatalf("booking %+v differs from the request's values %v", b, h.Data)
	}
}

// The worked examples of Eko's guide (docs/eko-aeps.md#signing): the same strings, from the booked values.
func TestBookingSignsSeedExamples(t *testing.T) {
	const ts = "1532582133692"
	for _, tt := range []struct {
		b    Booking
		want string
	}{
		{Booking{Type: TypeCashWithdrawal, CustomerID: "9999999999", Amount: "2000", UserCode: "20810200", BankCode: "PUNB"}, "15325821336929999999999200020810200"},
		{Booking{Type: TypeBalanceInquiry, CustomerID: "9999999999", UserCode: "20810200", BankCode: "PUNB"}, "1532582133692999999999920810200"},
		{Booking{Type: TypeMiniStatement, CustomerID: "9999999999", UserCode: "20810200", BankCode: "PUNB"}, "1532582133692999999999920810200"},
		// An amount on a balance inquiry is never signed, even if one were booked.
		{Booking{Type: TypeBalanceInquiry, CustomerID: "9999999999", Amount: "10000", UserCode: "20810200"}, "1532582133692999999999920810200"},
	} {
		params, data, err := tt.b.HashParams()
		if err != nil {
			t.Fatalf("%+v: %v", tt.b, err)
		}
		if got := sign.RequestSignature(ts, params, data); got != tt.want {
			t.Errorf("%+v signs %q, want %q", tt.b, got, tt.want)
		}
	}
	for _, b := range []Booking{
		{Type: TypeCashWithdrawal, CustomerID: "9999999999", UserCode: "20810200"},
		{Type: TypeBalanceInquiry, UserCode: "20810200"},
		{Type: TypeBalanceInquiry, CustomerID: "9999999999"},
		{Type: "aadhaar_pay", CustomerID: "9999999999", UserCode: "20810200"},
	} {
		if _, _, err := b.HashParams(); !errors.Is(err, ErrNotBookable) {
			t.Errorf("%+v: err %v, want ErrNotBookable", b, err)
		}
	}
}
