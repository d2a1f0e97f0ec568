package callback

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
)

// What Eko signs. Eko checks our request_hash against secret_key_timestamp + customer_id +
// amount + user_code of the transaction the agent really makes (without amount for a balance
// inquiry or mini statement). The hash covers neither the type, nor the reference, nor the names
// in request_hash_params: all of these come from the agent's browser and can be edited. So the
// reply is never signed over request_hash_params as sent, but over the booked transaction
// (Booking), and a debit-hook whose list is not one Eko documents is refused: whatever list is
// accepted, it then signs the very string that Booking signs.
var (
	// ParamsWithAmount is Eko's list for every type: amount is skipped where data has none.
	ParamsWithAmount = []string{"customer_id", "amount", "user_code"}
	// ParamsWithoutAmount is the list Eko's docs give for a balance inquiry or mini statement.
	ParamsWithoutAmount = []string{"customer_id", "user_code"}
)

// signable are the only names a request_hash_params list may hold.
var signable = map[string]bool{"customer_id": true, "amount": true, "user_code": true}

// bankCodeRE is a bank code as Eko's gateway sends one: a short code (PUNB), an IIN (607094) or
// an IFSC (SBIN0001234). At most 11 characters and at most 9 digits (bankCodeDigits), so that
// neither a mobile number nor an Aadhaar number fits in it.
var bankCodeRE = regexp.MustCompile(`^[A-Za-z0-9]{1,11}$`)

const bankCodeDigits = 9

// longDigits is the digit count from which a value may be someone's number: an Aadhaar number
// has 12. No booked field of a genuine debit-hook has that many.
const longDigits = 12

func isBankCode(s string) bool {
	return bankCodeRE.MatchString(s) && digitCount(s) <= bankCodeDigits
}

// checkHashParams adds a problem for every way params differs from the list Eko documents for
// the type. typeName is "" when the type itself is invalid (only the names are checked then).
func checkHashParams(params []string, typeName string, bad func(string, ...any)) {
	seen := map[string]bool{}
	namesOK := true
	for _, p := range params {
		switch {
		case !signable[p]:
			namesOK = false
			bad("request_hash_params names %s, which Eko does not sign (only customer_id, amount and user_code)", fieldName(p))
		case seen[p]:
			namesOK = false
			bad("request_hash_params names %s more than once", p)
		}
		seen[p] = true
	}
	if !namesOK || typeName == "" {
		return
	}
	switch {
	case typeName == TypeCashWithdrawal:
		if !slices.Equal(params, ParamsWithAmount) {
			bad("request_hash_params must be customer_id, amount, user_code, in that order, for a cash withdrawal")
		}
	case slices.Equal(params, ParamsWithoutAmount):
	case slices.Equal(params, ParamsWithAmount):
		// Eko's own example for types 3 and 4: amount is named and skipped, being absent. An
		// amount that is present is refused on its own.
	default:
		bad("request_hash_params must be customer_id, user_code for a balance inquiry or mini statement")
	}
}

// fieldName returns a name from the request fit to quote in a refusal: a plain field name as it
// is, anything else (long, odd characters, possibly personal data) not at all.
func fieldName(s string) string {
	if plainName.MatchString(s) {
		return s
	}
	return "a field"
}

var plainName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,31}$`)

// duplicateKey returns the first key that an object holds twice (after unescaping, as the map it
// decodes into would merge them). The sender meant one of two values, and which one is not ours
// to guess: such a request is refused. ok is false for anything that is not a well-formed object.
func duplicateKey(obj []byte) (key string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", false
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", false
		}
		k, isKey := t.(string)
		if !isKey {
			return "", false
		}
		if seen[k] {
			return k, true
		}
		seen[k] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", false
		}
	}
	return "", false
}

// Booking is what aepsflow books for an accepted debit-hook: the transaction, and exactly the
// values its request_hash covers.
type Booking struct {
	Type       string // TypeCashWithdrawal, TypeBalanceInquiry, TypeMiniStatement
	CustomerID string
	Amount     string // the exact text received; "" unless a cash withdrawal
	UserCode   string
	BankCode   string
}

// Booking returns what an accepted debit-hook books.
func (h DebitHook) Booking() Booking {
	b := Booking{Type: h.Type, CustomerID: h.Data["customer_id"], UserCode: h.Data["user_code"], BankCode: h.Data["bank_code"]}
	if h.Type == TypeCashWithdrawal {
		b.Amount = h.Data["amount"]
	}
	return b
}

// ErrNotBookable says a booking lacks what its request_hash must cover.
var ErrNotBookable = errors.New("booked transaction lacks a value its request_hash covers")

// HashParams returns what the request_hash of a booked transaction is computed over, for
// ekosign.Signer.RequestHash: customer_id + amount + user_code, without amount unless it is a
// cash withdrawal. Nothing the request named can add to it.
func (b Booking) HashParams() ([]string, map[string]string, error) {
	if b.CustomerID == "" || b.UserCode == "" {
		return nil, nil, ErrNotBookable
	}
	data := map[string]string{"customer_id": b.CustomerID, "user_code": b.UserCode}
	switch b.Type {
	case TypeCashWithdrawal:
		if b.Amount == "" {
			return nil, nil, ErrNotBookable
		}
		data["amount"] = b.Amount
		return ParamsWithAmount, data, nil
	case TypeBalanceInquiry, TypeMiniStatement:
		return ParamsWithoutAmount, data, nil
	}
	return nil, nil, ErrNotBookable
}

func digitCount(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}
