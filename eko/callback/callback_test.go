package callback

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

var rules = Rules{
	MinAmount: decimal.RequireFromString("100"),
	MaxAmount: decimal.RequireFromString("10000"),
	Multiple:  decimal.RequireFromString("50"),
}

// detail builds a debit-hook detail around a data object given as raw JSON.
func detail(data string) string {
	return `{"http_method":"POST","interaction_type_id":344,"client_ref_id":"1540880592059",` +
		`"request_hash_params":["customer_id","amount","user_code"],"data":` + data + `,"param1":"value1"}`
}

func TestParseDebitHook(t *testing.T) {
	const cash = `{"customer_id":"9999999999","bank_code":"PUNB","type":"2","user_code":"20810200","amount":"100"}`
	tests := []struct {
		name   string
		detail string
		// wantErr is a fragment of the expected error; "" means valid.
		wantErr    string
		wantType   string
		wantAmount string // Data["amount"], the exact text kept
		wantRef    string
	}{
		{name: "sample cash withdrawal", detail: detail(cash), wantType: TypeCashWithdrawal, wantAmount: "100", wantRef: "1540880592059"},
		{name: "type 2 as JSON number", detail: detail(`{"customer_id":"9999999999","type":2,"user_code":"20810200","amount":"100"}`), wantType: TypeCashWithdrawal, wantAmount: "100"},
		{name: "type 3 as string, no amount", detail: detail(`{"customer_id":"9999999999","type":"3","user_code":"20810200"}`), wantType: TypeBalanceInquiry},
		{name: "type 3 as JSON number", detail: detail(`{"customer_id":"9999999999","type":3,"user_code":"20810200"}`), wantType: TypeBalanceInquiry},
		{name: "type 4 as string", detail: detail(`{"customer_id":"9999999999","type":"4","user_code":"20810200"}`), wantType: TypeMiniStatement},
		{name: "type 4 as JSON number", detail: detail(`{"customer_id":"9999999999","type":4,"user_code":"20810200"}`), wantType: TypeMiniStatement},
		{name: "type 5 refused", detail: detail(`{"customer_id":"9999999999","type":"5","user_code":"20810200"}`), wantErr: "data.type must be"},
		{name: "type 1 refused", detail: detail(`{"customer_id":"9999999999","type":1,"user_code":"20810200"}`), wantErr: "data.type must be"},
		{name: "type missing", detail: detail(`{"customer_id":"9999999999","user_code":"20810200"}`), wantErr: "data.type must be"},
		{name: "type as object", detail: detail(`{"customer_id":"9999999999","type":{"v":2},"user_code":"20810200"}`), wantErr: "data.type must be"},
		{name: "amount exact text 100.00 kept", detail: detail(`{"customer_id":"9999999999","type":"2","user_code":"20810200","amount":"100.00"}`), wantType: TypeCashWithdrawal, wantAmount: "100.00"},
		{name: "amount JSON number keeps its text", detail: detail(`{"customer_id":"9999999999","type":"2","user_code":"20810200","amount":150.00}`), wantType: TypeCashWithdrawal, wantAmount: "150.00"},
		{name: "amount at the maximum", detail: detail(`{"customer_id":"9999999999","type":"2","user_code":"20810200","amount":"10000"}`), wantType: TypeCashWithdrawal, wantAmount: "10000"},
		{name: "amount below the minimum", detail: detail(`{"customer_id":"9999999999","type":"2","user_code":"20810200","amount":"50"}`), wantErr: "between Rs 100 and Rs 10000"},
		{name: "amount above the maximum", detail: detail(`{"customer_id":"9999999999","type":"2","user_code":"20810200","amount":"10050"}`), wantErr: "between Rs 100 and Rs 10000"},
		{name: "amount not a multiple of 50", detail: detail(`{"customer_id":"9999999999","type":"2","user_code":"20810200","amount":"120"}`), wantErr: "multiple of Rs 50"},
		{name: "amount with paise not a multiple", detail: detail(`{"customer_id":"9999999999","type":"2","user_code":"20810200","amount":"100.50"}`), wantErr: "multiple of Rs 50"},
		{name: "amount negative", detail: detail(`{"customer_id":"9999999999","type":"2","user_code":"20810200","amount":"-100"}`), wantErr: "not a valid amount"},
		{name: "amount in exponent form", detail: detail(`{"customer_id":"9999999999","type":"2","user_code":"20810200","amount":1e2}`), wantErr: "not a valid amount"},
		{name: "amount three decimals", detail: detail(`{"customer_id":"9999999999","type":"2","user_code":"20810200","amount":"100.000"}`), wantErr: "not a valid amount"},
		{name: "amount words", detail: detail(`{"customer_id":"9999999999","type":"2","user_code":"20810200","amount":"hundred"}`), wantErr: "not a valid amount"},
		{name: "amount missing on withdrawal", detail: detail(`{"customer_id":"9999999999","type":"2","user_code":"20810200"}`), wantErr: "amount is missing"},
		{name: "amount empty on withdrawal", detail: detail(`{"customer_id":"9999999999","type":"2","user_code":"20810200","amount":""}`), wantErr: "amount is missing"},
		{name: "customer_id JSON number", detail: detail(`{"customer_id":9999999999,"type":"3","user_code":"20810200"}`), wantType: TypeBalanceInquiry},
		{name: "customer_id 9 digits", detail: detail(`{"customer_id":"999999999","type":"3","user_code":"20810200"}`), wantErr: "10-digit"},
		{name: "customer_id 11 digits", detail: detail(`{"customer_id":"99999999999","type":"3","user_code":"20810200"}`), wantErr: "10-digit"},
		{name: "customer_id with letters", detail: detail(`{"customer_id":"99999x9999","type":"3","user_code":"20810200"}`), wantErr: "10-digit"},
		{name: "customer_id missing", detail: detail(`{"type":"3","user_code":"20810200"}`), wantErr: "10-digit"},
		{name: "user_code missing", detail: detail(`{"customer_id":"9999999999","type":"3"}`), wantErr: "user_code is missing"},
		{name: "signed field is an object", detail: detail(`{"customer_id":"9999999999","type":"2","user_code":"20810200","amount":{"value":"100"}}`), wantErr: "data.amount is signed but is not a string or number (an object)"},
		{name: "signed field is a list", detail: detail(`{"customer_id":"9999999999","type":"3","user_code":["20810200"]}`), wantErr: "data.user_code is signed but is not a string or number (a list)"},
		{name: "signed field is null", detail: detail(`{"customer_id":null,"type":"3","user_code":"20810200"}`), wantErr: "data.customer_id is signed but is not a string or number (null)"},
		{name: "unsigned object field is ignored", detail: detail(`{"customer_id":"9999999999","type":"3","user_code":"20810200","device":{"model":"MFS100"}}`), wantType: TypeBalanceInquiry},
		{name: "data missing", detail: `{"client_ref_id":"1","request_hash_params":["customer_id"]}`, wantErr: "data is missing"},
		{name: "data null", detail: `{"client_ref_id":"1","request_hash_params":["customer_id"],"data":null}`, wantErr: "data is missing"},
		{name: "data not an object", detail: `{"client_ref_id":"1","request_hash_params":["customer_id"],"data":"x"}`, wantErr: "detail must be an object"},
		{name: "request_hash_params missing", detail: `{"client_ref_id":"1","data":` + cash + `}`, wantErr: "request_hash_params must be a list"},
		{name: "request_hash_params null", detail: `{"client_ref_id":"1","request_hash_params":null,"data":` + cash + `}`, wantErr: "request_hash_params must be a list"},
		{name: "request_hash_params a string", detail: `{"client_ref_id":"1","request_hash_params":"customer_id,amount","data":` + cash + `}`, wantErr: "request_hash_params must be a list"},
		{name: "request_hash_params with a number", detail: `{"client_ref_id":"1","request_hash_params":["customer_id",2],"data":` + cash + `}`, wantErr: "request_hash_params must be a list"},
		{name: "request_hash_params an object", detail: `{"client_ref_id":"1","request_hash_params":{"0":"amount"},"data":` + cash + `}`, wantErr: "request_hash_params must be a list"},
		{name: "client_ref_id 20 characters", detail: `{"client_ref_id":"ABCDEFGHIJ0123456789","request_hash_params":["customer_id","amount","user_code"],"data":` + cash + `}`, wantType: TypeCashWithdrawal, wantAmount: "100", wantRef: "ABCDEFGHIJ0123456789"},
		{name: "client_ref_id 1 character", detail: `{"client_ref_id":"7","request_hash_params":["customer_id","amount","user_code"],"data":` + cash + `}`, wantType: TypeCashWithdrawal, wantAmount: "100", wantRef: "7"},
		{name: "client_ref_id JSON number", detail: `{"client_ref_id":1540880592059,"request_hash_params":["customer_id","amount","user_code"],"data":` + cash + `}`, wantType: TypeCashWithdrawal, wantAmount: "100", wantRef: "1540880592059"},
		{name: "client_ref_id 21 characters", detail: `{"client_ref_id":"ABCDEFGHIJ01234567890","request_hash_params":["customer_id","amount","user_code"],"data":` + cash + `}`, wantErr: "1 to 20 characters"},
		{name: "client_ref_id empty", detail: `{"client_ref_id":"","request_hash_params":["customer_id","amount","user_code"],"data":` + cash + `}`, wantErr: "1 to 20 characters"},
		{name: "client_ref_id missing", detail: `{"request_hash_params":["customer_id","amount","user_code"],"data":` + cash + `}`, wantErr: "client_ref_id is missing"},
		{name: "client_ref_id an object", detail: `{"client_ref_id":{"id":"1"},"request_hash_params":["customer_id","amount","user_code"],"data":` + cash + `}`, wantErr: "client_ref_id is missing"},
		{name: "detail not an object", detail: `["debit-hook"]`, wantErr: "detail must be an object"},
		{name: "detail malformed", detail: `{"client_ref_id":"1",`, wantErr: "detail must be an object"},
		{name: "detail with trailing garbage", detail: detail(cash) + `}`, wantErr: "detail must be an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseDebitHook(json.RawMessage(tt.detail), rules)
			if tt.wantErr != "" {
				var verr *ValidationError
				if !errors.As(err, &verr) {
					t.Fatalf("err = %v, want a *ValidationError containing %q", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %q, want it to contain %q", err, tt.wantErr)
				}
				if h.Type != "" || h.Data != nil {
					t.Fatalf("an invalid debit-hook returned more than its reference: %+v", h)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if h.Type != tt.wantType {
				t.Errorf("Type = %q, want %q", h.Type, tt.wantType)
			}
			if tt.wantRef != "" && h.ClientRefID != tt.wantRef {
				t.Errorf("ClientRefID = %q, want %q", h.ClientRefID, tt.wantRef)
			}
			if got := h.Data["amount"]; got != tt.wantAmount {
				t.Errorf("Data[amount] = %q, want the exact text %q", got, tt.wantAmount)
			}
			if tt.wantType == TypeCashWithdrawal && !h.Amount.Equal(decimal.RequireFromString(tt.wantAmount)) {
				t.Errorf("Amount = %s, want %s", h.Amount, tt.wantAmount)
			}
			if tt.wantType != TypeCashWithdrawal && !h.Amount.IsZero() {
				t.Errorf("Amount = %s on a %s, want zero", h.Amount, tt.wantType)
			}
		})
	}
}

// An invalid debit-hook still yields its reference, so that the refusal is recorded under it.
func TestParseDebitHookKeepsReferenceOnError(t *testing.T) {
	h, err := ParseDebitHook(json.RawMessage(detail(`{"customer_id":"1","type":"9","user_code":"x"}`)), rules)
	if err == nil {
		t.Fatal("want an error")
	}
	if h.ClientRefID != "1540880592059" {
		t.Fatalf("ClientRefID = %q, want the request's", h.ClientRefID)
	}
}

// Every value the hash is computed over is kept exactly, and the params keep their order.
func TestParseDebitHookKeepsSignedStrings(t *testing.T) {
	d := `{"client_ref_id":"1","request_hash_params":["customer_id","amount","user_code"],` +
		`"data":{"customer_id":9999999999,"type":2,"user_code":"20810200","amount":"2000.00","bank_code":"PUNB"}}`
	h, err := ParseDebitHook(json.RawMessage(d), rules)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(h.RequestHashParams, ","), "customer_id,amount,user_code"; got != want {
		t.Errorf("RequestHashParams = %s, want %s", got, want)
	}
	want := map[string]string{"customer_id": "9999999999", "type": "2", "user_code": "20810200", "amount": "2000.00", "bank_code": "PUNB"}
	for k, v := range want {
		if h.Data[k] != v {
			t.Errorf("Data[%s] = %q, want %q", k, h.Data[k], v)
		}
	}
	if b := h.Booking(); b != (Booking{Type: TypeCashWithdrawal, CustomerID: "9999999999", Amount: "2000.00", UserCode: "20810200", BankCode: "PUNB"}) {
		t.Errorf("Booking() = %+v", b)
	}
}

func TestDetailsHash(t *testing.T) {
	parse := func(data string) DebitHook {
		t.Helper()
		h, err := ParseDebitHook(json.RawMessage(detail(data)), rules)
		if err != nil {
			t.Fatalf("parse %s: %v", data, err)
		}
		return h
	}
	base := parse(`{"customer_id":"9999999999","bank_code":"PUNB","type":"2","user_code":"20810200","amount":"100"}`)
	tests := []struct {
		name string
		data string
		same bool
	}{
		{"identical", `{"customer_id":"9999999999","bank_code":"PUNB","type":"2","user_code":"20810200","amount":"100"}`, true},
		{"other key order and an extra field", `{"amount":"100","user_code":"20810200","type":"2","bank_code":"PUNB","customer_id":"9999999999","x":"y"}`, true},
		{"100.00 instead of 100", `{"customer_id":"9999999999","bank_code":"PUNB","type":"2","user_code":"20810200","amount":"100.00"}`, false},
		{"other amount", `{"customer_id":"9999999999","bank_code":"PUNB","type":"2","user_code":"20810200","amount":"150"}`, false},
		{"other customer", `{"customer_id":"9999999998","bank_code":"PUNB","type":"2","user_code":"20810200","amount":"100"}`, false},
		{"other bank", `{"customer_id":"9999999999","bank_code":"SBIN","type":"2","user_code":"20810200","amount":"100"}`, false},
		{"bank missing", `{"customer_id":"9999999999","type":"2","user_code":"20810200","amount":"100"}`, false},
		{"bank as an IIN", `{"customer_id":"9999999999","bank_code":"607094","type":"2","user_code":"20810200","amount":"100"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parse(tt.data).DetailsHash() == base.DetailsHash()
			if got != tt.same {
				t.Fatalf("same hash = %v, want %v", got, tt.same)
			}
		})
	}
}

func TestParseEnvelope(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantAction string
		wantErr    string
	}{
		{name: "debit-hook with custom params", body: `{"action":"debit-hook","detail":{"client_ref_id":"1"},"param1":"value1","param2":{"a":1}}`, wantAction: ActionDebitHook},
		{name: "eko-response, whitespace around", body: " \n{\"action\":\"eko-response\",\"detail\":{}}\n\t ", wantAction: ActionEkoResponse},
		{name: "unknown action is parsed, not judged", body: `{"action":"refund","detail":{}}`, wantAction: "refund"},
		{name: "malformed JSON", body: `{"action":"debit-hook","detail":`, wantErr: "malformed JSON"},
		{name: "empty body", body: ``, wantErr: "malformed JSON"},
		{name: "form data", body: `action=debit-hook&client_ref_id=1`, wantErr: "malformed JSON"},
		{name: "trailing garbage", body: `{"action":"debit-hook","detail":{}} x`, wantErr: "trailing data"},
		{name: "trailing closing brace", body: `{"action":"debit-hook","detail":{}}}`, wantErr: "trailing data"},
		{name: "trailing closing bracket", body: `{"action":"debit-hook","detail":{}}]`, wantErr: "trailing data"},
		{name: "two objects", body: `{"action":"debit-hook","detail":{}}{"action":"eko-response","detail":{}}`, wantErr: "trailing data"},
		{name: "a list", body: `[{"action":"debit-hook","detail":{}}]`, wantErr: "malformed JSON"},
		{name: "null", body: `null`, wantErr: "must be a JSON object"},
		{name: "a string", body: `"debit-hook"`, wantErr: "malformed JSON"},
		{name: "action missing", body: `{"detail":{}}`, wantErr: "action is missing"},
		{name: "action a number", body: `{"action":1,"detail":{}}`, wantErr: "action must be a string"},
		{name: "detail missing", body: `{"action":"debit-hook"}`, wantErr: "detail is missing"},
		{name: "detail null", body: `{"action":"debit-hook","detail":null}`, wantErr: "detail is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := ParseEnvelope([]byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if env.Action != tt.wantAction {
				t.Fatalf("Action = %q, want %q", env.Action, tt.wantAction)
			}
		})
	}
}

func TestParseEkoResponse(t *testing.T) {
	tests := []struct {
		name         string
		detail       string
		wantErr      string
		wantTxStatus string
		wantData     map[string]string
	}{
		{name: "sample eko-response, tx_status string", detail: `{"client_ref_id":"1546497183438","is_final":true,"response":{"status":0,"message":"Transaction successful","data":{"tx_status":"0","amount":"2000.0","tds":"0.3","tid":"14563687","commission":"6.0","aadhaar":"XXXX XXXX 9999","customer_balance":""}}}`,
			wantTxStatus: "0", wantData: map[string]string{"amount": "2000.0", "tds": "0.3", "tid": "14563687", "commission": "6.0", "aadhaar": "XXXX XXXX 9999", "customer_balance": ""}},
		{name: "tx_status number 0", detail: `{"client_ref_id":"1","response":{"status":0,"data":{"tx_status":0,"amount":2000.0}}}`,
			wantTxStatus: "0", wantData: map[string]string{"amount": "2000.0"}},
		{name: "tx_status number 1", detail: `{"client_ref_id":"1","response":{"data":{"tx_status":1}}}`, wantTxStatus: "1"},
		{name: "tx_status string 2", detail: `{"client_ref_id":"1","response":{"data":{"tx_status":"2"}}}`, wantTxStatus: "2"},
		{name: "tx_status suspicious 9", detail: `{"client_ref_id":"1","response":{"data":{"tx_status":"9"}}}`, wantTxStatus: "9"},
		{name: "tx_status padded", detail: `{"client_ref_id":"1","response":{"data":{"tx_status":" 1 "}}}`, wantTxStatus: "1"},
		{name: "tx_status absent", detail: `{"client_ref_id":"1","response":{"status":1,"message":"failed"}}`, wantTxStatus: ""},
		{name: "client_ref_id number", detail: `{"client_ref_id":1546497183438,"response":{"data":{"tx_status":"0"}}}`, wantTxStatus: "0"},
		{name: "client_ref_id missing", detail: `{"response":{"data":{"tx_status":"0"}}}`, wantErr: "client_ref_id is missing"},
		{name: "client_ref_id empty", detail: `{"client_ref_id":"","response":{"data":{"tx_status":"0"}}}`, wantErr: "client_ref_id is missing"},
		{name: "response missing", detail: `{"client_ref_id":"1"}`, wantErr: "response must be an object"},
		{name: "response a string", detail: `{"client_ref_id":"1","response":"ok"}`, wantErr: "response must be an object"},
		{name: "response null", detail: `{"client_ref_id":"1","response":null}`, wantErr: "response must be an object"},
		{name: "detail a list", detail: `[1]`, wantErr: "detail must be an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseEkoResponse(json.RawMessage(tt.detail))
			if tt.wantErr != "" {
				var verr *ValidationError
				if !errors.As(err, &verr) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a *ValidationError containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if r.TxStatus != tt.wantTxStatus {
				t.Errorf("TxStatus = %q, want %q", r.TxStatus, tt.wantTxStatus)
			}
			for k, v := range tt.wantData {
				if got, ok := r.Data[k]; !ok || got != v {
					t.Errorf("Data[%s] = %q (present %v), want %q", k, got, ok, v)
				}
			}
			if !json.Valid(r.Response) || r.ContentHash == "" {
				t.Errorf("Response %s / ContentHash %q not set", r.Response, r.ContentHash)
			}
		})
	}
}

// The content hash identifies a response whatever its key order and whitespace, and nothing else.
func TestEkoResponseContentHash(t *testing.T) {
	const base = `{"client_ref_id":"1","response":{"status":0,"message":"ok","data":{"tx_status":"0","amount":"2000.0","list":[{"b":1,"a":2}]}}}`
	hash := func(d string) (string, string) {
		t.Helper()
		r, err := ParseEkoResponse(json.RawMessage(d))
		if err != nil {
			t.Fatalf("parse %s: %v", d, err)
		}
		return r.ContentHash, string(r.Response)
	}
	baseHash, baseCanon := hash(base)
	tests := []struct {
		name   string
		detail string
		same   bool
	}{
		{"keys reordered, whitespace added", "{ \"response\" : {\n\"data\":{\"list\":[{\"a\":2,\"b\":1}],\"amount\":\"2000.0\" , \"tx_status\":\"0\"},\t\"message\":\"ok\",\"status\":0},\n \"client_ref_id\":\"1\"}", true},
		{"fields outside response do not count", `{"client_ref_id":"1","is_final":true,"response":{"status":0,"message":"ok","data":{"tx_status":"0","amount":"2000.0","list":[{"b":1,"a":2}]}}}`, true},
		{"other amount text", `{"client_ref_id":"1","response":{"status":0,"message":"ok","data":{"tx_status":"0","amount":"2000.00","list":[{"b":1,"a":2}]}}}`, false},
		{"tx_status as a number", `{"client_ref_id":"1","response":{"status":0,"message":"ok","data":{"tx_status":0,"amount":"2000.0","list":[{"b":1,"a":2}]}}}`, false},
		{"list order differs", `{"client_ref_id":"1","response":{"status":0,"message":"ok","data":{"tx_status":"0","amount":"2000.0","list":[{"b":2,"a":1}]}}}`, false},
		{"other message", `{"client_ref_id":"1","response":{"status":0,"message":"OK","data":{"tx_status":"0","amount":"2000.0","list":[{"b":1,"a":2}]}}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, canon := hash(tt.detail)
			if (h == baseHash) != tt.same {
				t.Fatalf("same hash = %v, want %v\nbase  %s\nthis  %s", h == baseHash, tt.same, baseCanon, canon)
			}
			if tt.same && canon != baseCanon {
				t.Fatalf("canonical forms differ:\n%s\n%s", baseCanon, canon)
			}
		})
	}
	// Numbers keep their literal text in the canonical form.
	if !strings.Contains(baseCanon, `"status":0`) || !strings.Contains(baseCanon, `"amount":"2000.0"`) {
		t.Errorf("canonical form lost exact values: %s", baseCanon)
	}
}

func TestTypeName(t *testing.T) {
	for code, want := range map[string]string{"2": TypeCashWithdrawal, "3": TypeBalanceInquiry, "4": TypeMiniStatement, "5": "", "02": "", "": ""} {
		got, ok := TypeName(code)
		if got != want || ok != (want != "") {
			t.Errorf("TypeName(%q) = %q, %v; want %q", code, got, ok, want)
		}
	}
}

// Identifiers we key on must be printable: PostgreSQL text cannot hold a NUL, and an invisible
// character makes a lookalike key. Such a callback is refused with a reason, and its reference is
// not kept (the refusal is stored without one). Free text in a response is not judged here.
func TestParseRefusesUnprintableIdentifiers(t *testing.T) {
	const data = `{"customer_id":"9999999999","bank_code":"PUNB","type":"3","user_code":"20810200"}`
	hookWith := func(ref, data string) string {
		return `{"client_ref_id":` + ref + `,"request_hash_params":["customer_id","user_code"],"data":` + data + `}`
	}
	responseWith := func(ref, response string) string {
		return `{"client_ref_id":` + ref + `,"response":` + response + `}`
	}
	const okResponse = `{"status":0,"message":"ok","data":{"tx_status":"0"}}`
	tests := []struct {
		name      string
		debitHook string // a debit-hook detail, or
		response  string // an eko-response detail
		wantErr   string // "" means valid
		wantRef   string // on success
	}{
		{name: "NUL", debitHook: hookWith(`"1540\u00000592059"`, data), wantErr: "client_ref_id must be printable"},
		{name: "NUL at the end", debitHook: hookWith(`"1540880592059\u0000"`, data), wantErr: "client_ref_id must be printable"},
		{name: "invalid UTF-8", debitHook: hookWith("\"1540\xff0592059\"", data), wantErr: "client_ref_id must be printable"},
		{name: "U+FFFD sent escaped", debitHook: hookWith(`"1540\ufffd0592059"`, data), wantErr: "client_ref_id must be printable"},
		{name: "tab", debitHook: hookWith(`"1540\t0592059"`, data), wantErr: "client_ref_id must be printable"},
		{name: "newline", debitHook: hookWith(`"1540880592059\n"`, data), wantErr: "client_ref_id must be printable"},
		{name: "DEL", debitHook: hookWith(`"1540\u007f"`, data), wantErr: "client_ref_id must be printable"},
		{name: "C1 control", debitHook: hookWith(`"1540\u0085"`, data), wantErr: "client_ref_id must be printable"},
		{name: "zero-width space", debitHook: hookWith(`"1540\u200b"`, data), wantErr: "client_ref_id must be printable"},
		{name: "right-to-left override", debitHook: hookWith(`"1540\u202e"`, data), wantErr: "client_ref_id must be printable"},
		{name: "letters, digits, dash and space are printable", debitHook: hookWith(`"AB-12 é"`, data), wantRef: "AB-12 é"},
		{name: "user_code with NUL", debitHook: hookWith(`"1"`, `{"customer_id":"9999999999","type":"3","user_code":"2081\u00000200"}`),
			wantErr: "user_code must be printable"},
		{name: "user_code with invalid UTF-8", debitHook: hookWith(`"1"`, "{\"customer_id\":\"9999999999\",\"type\":\"3\",\"user_code\":\"2081\xc30200\"}"),
			wantErr: "user_code must be printable"},
		{name: "bank_code with NUL", debitHook: hookWith(`"1"`, `{"customer_id":"9999999999","type":"3","user_code":"20810200","bank_code":"PUNB\u0000"}`),
			wantErr: "bank_code must be a bank code"},
		{name: "eko-response NUL", response: responseWith(`"1546\u0000497183438"`, okResponse), wantErr: "client_ref_id must be printable"},
		{name: "eko-response invalid UTF-8", response: responseWith("\"1546\xfe\"", okResponse), wantErr: "client_ref_id must be printable"},
		{name: "eko-response control character", response: responseWith(`"1546\u001b"`, okResponse), wantErr: "client_ref_id must be printable"},
		{name: "eko-response NUL and invalid UTF-8 in free text are not errors", wantRef: "1546497183438",
			response: responseWith(`"1546497183438"`, "{\"status\":0,\"message\":\"ok \xff\",\"data\":{\"tx_status\":\"0\",\"tid\":\"T\\u0000\"}}")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ref string
			var err error
			if tt.debitHook != "" {
				var h DebitHook
				h, err = ParseDebitHook(json.RawMessage(tt.debitHook), rules)
				ref = h.ClientRefID
			} else {
				var r EkoResponse
				r, err = ParseEkoResponse(json.RawMessage(tt.response))
				ref = r.ClientRefID
			}
			if tt.wantErr == "" {
				if err != nil || ref != tt.wantRef {
					t.Fatalf("ClientRefID %q, err %v; want %q and no error", ref, err, tt.wantRef)
				}
				return
			}
			var verr *ValidationError
			if !errors.As(err, &verr) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want a *ValidationError containing %q", err, tt.wantErr)
			}
			if strings.HasPrefix(tt.wantErr, "client_ref_id") && ref != "" {
				t.Fatalf("kept the unprintable reference %q", ref)
			}
			if strings.ContainsRune(err.Error(), 0) || !utf8.ValidString(err.Error()) {
				t.Fatalf("the reason quotes the value: %q", err)
			}
		})
	}
}
