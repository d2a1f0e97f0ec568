// Package callback parses and validates the two callbacks Eko's AePS gateway sends to our callback URL:
// debit-hook (asks us to confirm a transaction) and eko-response (reports its outcome).
//
// Values are kept as the exact strings received: request_hash is computed over them, so "100" and
// "100.00" must never be normalised into each other. Numbers are decoded as json.Number so that a
// value sent as a JSON number keeps its literal text too.
package callback

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/aepsflow/aepsflow/ident"
)

// Actions Eko puts in the envelope.
const (
	ActionDebitHook   = "debit-hook"
	ActionEkoResponse = "eko-response"
)

// Transaction types, as data.type carries them and as we name them.
const (
	TypeCashWithdrawal = "cash_withdrawal"
	TypeBalanceInquiry = "balance_inquiry"
	TypeMiniStatement  = "mini_statement"
)

// TypeName maps data.type ("2", "3", "4") to our name; ok is false for any other code.
func TypeName(code string) (string, bool) {
	switch code {
	case "2":
		return TypeCashWithdrawal, true
	case "3":
		return TypeBalanceInquiry, true
	case "4":
		return TypeMiniStatement, true
	}
	return "", false
}

// Envelope is the outer shape of every callback.
type Envelope struct {
	Action string
	Detail json.RawMessage
}

// ParseEnvelope decodes the outer object. Extra top-level fields (the integrator's custom params)
// are allowed and ignored here; they stay in the stored raw body.
func ParseEnvelope(body []byte) (Envelope, error) {
	var raw map[string]json.RawMessage
	if err := decodeStrict(body, &raw); err != nil {
		return Envelope{}, err
	}
	if raw == nil {
		return Envelope{}, errors.New("body must be a JSON object")
	}
	// Which of two details (or actions) was meant is not ours to guess: the stored body would
	// show both, and the other one might be what an operator reads.
	if k, dup := duplicateKey(body); dup && (k == "action" || k == "detail") {
		return Envelope{}, fmt.Errorf("%s is sent more than once", k)
	}
	var env Envelope
	a, ok := raw["action"]
	if !ok {
		return Envelope{}, errors.New("action is missing")
	}
	if err := json.Unmarshal(a, &env.Action); err != nil {
		return Envelope{}, errors.New("action must be a string")
	}
	env.Detail = raw["detail"]
	if len(env.Detail) == 0 || string(env.Detail) == "null" {
		return env, errors.New("detail is missing")
	}
	return env, nil
}

// decodeStrict decodes exactly one JSON value with numbers kept as json.Number.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("malformed JSON: %w", err)
	}
	// dec.More is not enough here: at the top level it reports false for a stray '}' or ']', so
	// `{...}}` would pass. Anything but the end of input after the value is trailing data.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("malformed JSON: trailing data after the value")
	}
	return nil
}

// scalar returns the exact text of a JSON string or number; ok is false for anything else.
func scalar(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return s, true
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(raw), true
	}
	return "", false
}

// DebitHook is a parsed debit-hook detail.
type DebitHook struct {
	ClientRefID       string
	RequestHashParams []string
	// Data holds every detail.data field whose value is a string or number, as its exact text.
	Data     map[string]string
	TypeCode string // "2", "3", "4"
	Type     string // TypeCashWithdrawal, ...
	// Amount is the parsed withdrawal amount (zero for other types); Data["amount"] keeps the text.
	Amount decimal.Decimal
}

// Rules are the configurable debit-hook checks.
type Rules struct {
	MinAmount, MaxAmount, Multiple decimal.Decimal
}

// ValidationError says what is wrong with a callback, in words an agent or integrator understands.
type ValidationError struct{ Problems []string }

func (e *ValidationError) Error() string { return strings.Join(e.Problems, "; ") }

var (
	mobileRE = regexp.MustCompile(`^[0-9]{10}$`)
	amountRE = regexp.MustCompile(`^[0-9]{1,7}(\.[0-9]{1,2})?$`)
)

// ParseDebitHook decodes and validates a debit-hook's detail. On a validation error the returned
// DebitHook holds only ClientRefID (when it was readable), so that the refusal can be recorded
// under the transaction's reference.
func ParseDebitHook(detail json.RawMessage, rules Rules) (DebitHook, error) {
	// A map, not a struct: encoding/json matches struct fields case-insensitively, so "Data"
	// would stand in for "data", and the last of two would win unnoticed.
	var d map[string]json.RawMessage
	if err := decodeStrict(detail, &d); err != nil || d == nil {
		return DebitHook{}, &ValidationError{[]string{"detail must be an object with client_ref_id, request_hash_params and data"}}
	}
	var data map[string]json.RawMessage
	if raw, ok := d["data"]; ok && string(bytes.TrimSpace(raw)) != "null" {
		if err := decodeStrict(raw, &data); err != nil || data == nil {
			return DebitHook{}, &ValidationError{[]string{"detail must be an object with client_ref_id, request_hash_params and data"}}
		}
	}
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	if k, dup := duplicateKey(detail); dup {
		bad("detail.%s is sent more than once", fieldName(k))
	}
	if k, dup := duplicateKey(d["data"]); dup {
		bad("data.%s is sent more than once", fieldName(k))
	}

	h := DebitHook{Data: map[string]string{}}
	if s, ok := scalar(d["client_ref_id"]); !ok {
		bad("client_ref_id is missing or not a string")
	} else if n := len([]rune(s)); n < 1 || n > 20 {
		bad("client_ref_id must be 1 to 20 characters")
	} else if !ident.Printable(s) {
		bad("client_ref_id must be printable text, without control characters or invalid UTF-8")
	} else {
		h.ClientRefID = s
	}

	paramsRaw := d["request_hash_params"]
	if len(paramsRaw) == 0 || json.Unmarshal(paramsRaw, &h.RequestHashParams) != nil || h.RequestHashParams == nil {
		bad("request_hash_params must be a list of field names")
	}

	if data == nil {
		bad("data is missing")
	}
	for k, v := range data {
		if s, ok := scalar(v); ok {
			h.Data[k] = s
		}
	}
	for _, p := range h.RequestHashParams {
		if v, present := data[p]; present {
			if _, ok := h.Data[p]; !ok {
				bad("data.%s is signed but is not a string or number (%s)", fieldName(p), kind(v))
			}
		}
	}

	h.TypeCode = h.Data["type"]
	if name, ok := TypeName(h.TypeCode); ok {
		h.Type = name
	} else {
		bad("data.type must be 2 (cash withdrawal), 3 (balance inquiry) or 4 (mini statement)")
	}
	checkHashParams(h.RequestHashParams, h.Type, bad)
	if !mobileRE.MatchString(h.Data["customer_id"]) {
		bad("customer_id must be the customer's 10-digit mobile number")
	}
	if h.Data["user_code"] == "" {
		bad("user_code is missing")
	}
	// user_code is looked up and stored as text. Refusing a debit-hook is always safe (no money
	// has moved yet), so an unprintable one is refused rather than cleaned.
	if v, ok := h.Data["user_code"]; ok && !ident.Printable(v) {
		bad("user_code must be printable text, without control characters or invalid UTF-8")
	} else if digitCount(v) >= longDigits {
		// Quoted in refusals and logs, and stored: never a number that could be someone's.
		bad("user_code must be the agent's code")
	}
	// bank_code is stored: it must be a bank code, never a number that could be someone's.
	if _, present := data["bank_code"]; present && !isBankCode(h.Data["bank_code"]) {
		bad("bank_code must be a bank code: 1 to 11 letters and digits, at most %d of them digits", bankCodeDigits)
	}
	_, hasAmount := data["amount"]
	switch h.Type {
	case TypeBalanceInquiry, TypeMiniStatement:
		// Eko signs no amount for these, so one sent here is either noise or a withdrawal in
		// disguise; and it would be stored.
		if hasAmount {
			bad("amount must not be sent with a balance inquiry or mini statement")
		}
	case TypeCashWithdrawal:
		text, ok := h.Data["amount"]
		switch {
		case !ok || text == "":
			bad("amount is missing")
		case !amountRE.MatchString(text):
			bad("amount is not a valid amount in rupees (digits, at most 2 decimals)")
		default:
			amt := decimal.RequireFromString(text)
			switch {
			case amt.LessThan(rules.MinAmount) || amt.GreaterThan(rules.MaxAmount):
				bad("amount must be between Rs %s and Rs %s", rules.MinAmount, rules.MaxAmount)
			case !amt.Mod(rules.Multiple).IsZero():
				bad("amount must be a multiple of Rs %s", rules.Multiple)
			default:
				h.Amount = amt
			}
		}
	}
	if problems != nil {
		return DebitHook{ClientRefID: h.ClientRefID}, &ValidationError{problems}
	}
	return h, nil
}

func kind(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "empty"
	}
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	}
	return "invalid"
}

// DetailsHash identifies what a debit-hook asks for. A repeat with the same client_ref_id and the
// same hash is the same request; anything else under that client_ref_id is a conflict. Exact
// strings are hashed: "100" and "100.00" are different details.
func (h DebitHook) DetailsHash() string {
	sum := sha256.New()
	for _, k := range []string{"type", "customer_id", "user_code", "amount", "bank_code"} {
		v, ok := h.Data[k]
		fmt.Fprintf(sum, "%s=%t:%d:%s\n", k, ok, len(v), v)
	}
	return hex.EncodeToString(sum.Sum(nil))
}

// EkoResponse is a parsed eko-response detail.
type EkoResponse struct {
	ClientRefID string
	// Response is detail.response re-encoded canonically (sorted keys), numbers exact.
	Response    json.RawMessage
	ContentHash string
	Status      string // response.status, as text
	Message     string
	// Data holds every scalar field of response.data as its exact text.
	Data map[string]string
	// TxStatus is response.data.tx_status as text ("" when absent).
	TxStatus string
}

// ParseEkoResponse decodes an eko-response's detail. Only client_ref_id and response are required:
// everything in response is recorded whatever shape it has. On a validation error the returned
// EkoResponse holds only ClientRefID (when it was readable), for the record.
func ParseEkoResponse(detail json.RawMessage) (EkoResponse, error) {
	// A map, not a struct: encoding/json matches struct fields case-insensitively, so a
	// "CLIENT_REF_ID" after "client_ref_id" would silently name the transaction instead.
	var d map[string]json.RawMessage
	if err := decodeStrict(detail, &d); err != nil || d == nil {
		return EkoResponse{}, &ValidationError{[]string{"detail must be an object with client_ref_id and response"}}
	}
	var problems []string
	// A name sent twice means one of two values, and which one (the reference, the tx_status)
	// is not ours to guess; the stored body would show both.
	var respObj map[string]json.RawMessage
	_ = json.Unmarshal(d["response"], &respObj)
	for _, o := range []struct {
		where string
		obj   json.RawMessage
	}{{"detail", detail}, {"response", d["response"]}, {"response.data", respObj["data"]}} {
		if k, dup := duplicateKey(o.obj); dup {
			problems = append(problems, fmt.Sprintf("%s.%s is sent more than once", o.where, fieldName(k)))
		}
	}
	var r EkoResponse
	if s, ok := scalar(d["client_ref_id"]); !ok || s == "" || len([]rune(s)) > 40 {
		problems = append(problems, "client_ref_id is missing or not a string")
	} else if !ident.Printable(s) {
		problems = append(problems, "client_ref_id must be printable text, without control characters or invalid UTF-8")
	} else {
		r.ClientRefID = s
	}
	var resp map[string]any
	if len(d["response"]) == 0 || decodeStrict(d["response"], &resp) != nil || resp == nil {
		problems = append(problems, "response must be an object")
	}
	if problems != nil {
		return EkoResponse{ClientRefID: r.ClientRefID}, &ValidationError{problems}
	}
	canon, err := json.Marshal(resp) // encoding/json sorts map keys: a canonical form
	if err != nil {
		return EkoResponse{}, fmt.Errorf("re-encode response: %w", err)
	}
	r.Response = canon
	sum := sha256.Sum256(canon)
	r.ContentHash = hex.EncodeToString(sum[:])
	r.Status = text(resp["status"])
	r.Message = text(resp["message"])
	r.Data = map[string]string{}
	if data, ok := resp["data"].(map[string]any); ok {
		for k, v := range data {
			if s := text(v); s != "" || v == "" {
				r.Data[k] = s
			}
		}
	}
	r.TxStatus = strings.TrimSpace(r.Data["tx_status"])
	return r, nil
}

func text(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		return fmt.Sprint(t)
	}
	return ""
}

// Decimal parses an amount field; ok is false for empty or non-numeric text.
func Decimal(s string) (decimal.Decimal, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return decimal.Decimal{}, false
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, false
	}
	return d, true
}
