// Package partner parses and validates the AePS partner's "post-request" status callback
// (docs/partner-callback.md) and maps its status to an outcome. No HTTP and no storage here.
//
// Choices the partner's document leaves open, made once here:
//   - Keys are the document's spellings (customeridentIfication, ClientRefID, param_b, param_c, ...).
//     Like encoding/json, a key that differs only in letter case is accepted too, and noted in
//     Flags as "key_case:<received key>". Two keys naming the same field (exactly or by case) make
//     the body ambiguous and are rejected, as is any repeated key. Unknown keys are ignored.
//   - Every field may arrive as a JSON string or a JSON number (the document's sample shows rrn
//     and ClientRefID unquoted); a number keeps its exact literal text. null, booleans, objects
//     and lists are field errors. All fields must be present and not null; param_b, param_c and statusDesc may
//     be empty strings.
//   - txnId is kept as its exact decimal digits (it exceeds 2^53, so it never passes through a
//     float) and must be a positive integer of at most 20 digits that fits in a uint64, without
//     leading zeros (so one transaction has one spelling).
//   - txnAmount is kept as received. Money-moving types need 100..10000 rupees (at most two
//     decimals). Balance enquiry and mini statement may carry "", "0" or any valid amount; a
//     non-zero one is informational only and flagged "amount_on_non_money_txn". An unknown
//     txnType is not an error: it is flagged "unknown_txn_type" and its amount is only checked for
//     format.
//   - txnType and status are compared after strings.TrimSpace and strings.ToUpper.
//   - Free text the document leaves unbounded is bounded: txnType, status and productCode at most
//     MaxCode characters, statusDesc at most MaxStatusDesc.
//   - ClientRefID, our key, must be printable (no control characters, NUL included, and no
//     invalid UTF-8). Other free text may hold anything; storage makes it storable.
//   - A full Aadhaar number is never kept: customeridentIfication must be masked, and when it is
//     not, the returned value is masked (all digits but the last four) besides the field error.
//     Any other field holding a written Aadhaar number is masked by redact.Body and flagged
//     "aadhaar_redacted:<field>". Error messages never quote received values.
package partner

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/aepsflow/aepsflow/ident"
	"github.com/aepsflow/aepsflow/redact"
)

// Field names, spelled exactly as the partner's document spells them.
const (
	FieldStatusDesc             = "statusDesc"
	FieldCreatedDate            = "createdDate"
	FieldUpdatedDate            = "updatedDate"
	FieldProductCode            = "productCode"
	FieldTxnType                = "txnType"
	FieldTxnAmount              = "txnAmount"
	FieldTxnDateTime            = "txnDateTime"
	FieldCustomerIdentification = "customeridentIfication"
	FieldStatus                 = "status"
	FieldRRN                    = "rrn"
	FieldTxnID                  = "txnId"
	FieldUsername               = "username"
	FieldClientRefID            = "ClientRefID"
	FieldParamB                 = "param_b"
	FieldParamC                 = "param_c"
)

// fieldNames lists every field in the order of the document's field table, which is also the order of FieldErrors
// and of the ContentHash encoding.
func fieldNames() []string {
	return []string{
		FieldStatusDesc, FieldCreatedDate, FieldUpdatedDate, FieldProductCode, FieldTxnType,
		FieldTxnAmount, FieldTxnDateTime, FieldCustomerIdentification, FieldStatus, FieldRRN,
		FieldTxnID, FieldUsername, FieldClientRefID, FieldParamB, FieldParamC,
	}
}

// Transaction types.
const (
	TxnCashWithdrawal = "AEPS_CASH_WITHDRAWAL"
	TxnBalanceEnquiry = "AEPS_BALANCE_ENQUIRY"
	TxnMiniStatement  = "AEPS_MINI_STATEMENT"
	TxnAadhaarPay     = "AADHAAR_PAY"
	TxnCashDeposit    = "AEPS_CASH_DEPOSIT"
)

// Flags: facts worth recording that do not make a callback invalid.
const (
	FlagUnknownTxnType      = "unknown_txn_type"
	FlagAmountOnNonMoneyTxn = "amount_on_non_money_txn"
	FlagKeyCasePrefix       = "key_case:"         // + the key as received
	FlagAadhaarRedacted     = "aadhaar_redacted:" // + the field name
)

// DateLayout is the layout of createdDate, updatedDate and txnDateTime.
const DateLayout = "2006-01-02 15:04:05"

// Length limits, in characters, for free-text fields the document leaves unbounded.
const (
	MaxCode       = 64  // txnType, status, productCode
	MaxStatusDesc = 500 // statusDesc
)

// Amount limits for money-moving types, in rupees (the document: "between 100 and 10000").
const (
	MinAmount = 100
	MaxAmount = 10000
)

// IST is the partner's time zone. A fixed zone needs no tzdata; India has no daylight saving.
func IST() *time.Location { return time.FixedZone("IST", 5*3600+1800) }

// Callback is one post-request body. The string fields hold the values as received (numbers as
// their literal text), except that a full Aadhaar number is masked; they are meaningful only
// when Parse reported no FieldError for them.
type Callback struct {
	StatusDesc             string
	CreatedDate            string
	UpdatedDate            string
	ProductCode            string
	TxnType                string
	TxnAmount              string // exact text, e.g. "2000" or "2000.00"
	TxnDateTime            string
	CustomerIdentification string // always masked
	Status                 string
	RRN                    string
	TxnID                  string // exact decimal digits
	Username               string
	ClientRefID            string
	ParamB                 string
	ParamC                 string

	Amount                    *decimal.Decimal // parsed TxnAmount; nil when empty or not a valid amount
	Created, Updated, TxnTime time.Time        // zero when not a valid date
	TxnTypeKnown              bool
	Flags                     []string
}

// FieldError is one problem with one field. Message is a full sentence naming the field.
type FieldError struct{ Field, Message string }

func (e FieldError) Error() string { return e.Message }

// Outcome is what a callback's status means for the transaction.
type Outcome string

const (
	OutcomeSuccess Outcome = "success"
	OutcomeFailed  Outcome = "failed"
	OutcomeUnknown Outcome = "unknown"
)

// MapStatus maps the status field, compared after TrimSpace and ToUpper. Only clear answers are
// mapped; anything else (PENDING, DEBIT TIMEOUT, even AUTH_SUCCESS, which says the biometric
// matched but not that money moved) is unknown, to be resolved by an inquiry, never assumed
// failed. statusDesc is free text and never consulted.
func MapStatus(status string) Outcome {
	switch strings.ToUpper(strings.TrimSpace(status)) {
	case "SUCCESS":
		return OutcomeSuccess
	case "FAILED", "FAILURE", "AUTH_FAILED", "AUTH_DECLINE":
		return OutcomeFailed
	}
	return OutcomeUnknown
}

// Outcome is MapStatus(c.Status).
func (c Callback) Outcome() Outcome { return MapStatus(c.Status) }

// MoneyMoving reports whether the transaction type moves money: cash withdrawal, Aadhaar Pay and
// cash deposit.
func (c Callback) MoneyMoving() bool { return moneyMoving(normType(c.TxnType)) }

func normType(t string) string { return strings.ToUpper(strings.TrimSpace(t)) }

func moneyMoving(t string) bool {
	return t == TxnCashWithdrawal || t == TxnAadhaarPay || t == TxnCashDeposit
}

func knownType(t string) bool {
	return moneyMoving(t) || t == TxnBalanceEnquiry || t == TxnMiniStatement
}

// ContentHash is the SHA-256 (hex) of the fifteen fields in table order, each length-prefixed. Two
// deliveries with the same txnId and the same hash are the same callback (key order, whitespace,
// and a number sent as a string or vice versa do not matter); a different hash is a conflict.
// Values are compared exactly: "2000" and "2000.00" differ.
func (c Callback) ContentHash() string {
	h := sha256.New()
	for i, v := range c.values() {
		fmt.Fprintf(h, "%d:%d:%s\n", i, len(v), v)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// values returns the string fields in fieldNames order.
func (c Callback) values() []string {
	return []string{
		c.StatusDesc, c.CreatedDate, c.UpdatedDate, c.ProductCode, c.TxnType,
		c.TxnAmount, c.TxnDateTime, c.CustomerIdentification, c.Status, c.RRN,
		c.TxnID, c.Username, c.ClientRefID, c.ParamB, c.ParamC,
	}
}

// field returns a pointer to the string field for name.
func (c *Callback) field(name string) *string {
	switch name {
	case FieldStatusDesc:
		return &c.StatusDesc
	case FieldCreatedDate:
		return &c.CreatedDate
	case FieldUpdatedDate:
		return &c.UpdatedDate
	case FieldProductCode:
		return &c.ProductCode
	case FieldTxnType:
		return &c.TxnType
	case FieldTxnAmount:
		return &c.TxnAmount
	case FieldTxnDateTime:
		return &c.TxnDateTime
	case FieldCustomerIdentification:
		return &c.CustomerIdentification
	case FieldStatus:
		return &c.Status
	case FieldRRN:
		return &c.RRN
	case FieldTxnID:
		return &c.TxnID
	case FieldUsername:
		return &c.Username
	case FieldClientRefID:
		return &c.ClientRefID
	case FieldParamB:
		return &c.ParamB
	case FieldParamC:
		return &c.ParamC
	}
	return nil
}

// Compiled patterns are read-only and safe for concurrent use.
var (
	dateRE   = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$`)
	rrnRE    = regexp.MustCompile(`^[0-9]{12}$`)
	txnIDRE  = regexp.MustCompile(`^[1-9][0-9]{0,19}$`)
	amountRE = regexp.MustCompile(`^[0-9]{1,9}(\.[0-9]{1,2})?$`)
	paramRE  = regexp.MustCompile(`^[A-Za-z0-9]*$`)
)

// Parse decodes a post-request body and validates it. err is non-nil only when the body is not
// one well-formed JSON object (malformed, not an object, trailing data, a repeated key); then the
// Callback is zero. Otherwise every problem is a FieldError, in table order, and the Callback
// holds what could be read. loc is the zone of the dates; nil means IST().
func Parse(body []byte, loc *time.Location) (Callback, []FieldError, error) {
	if loc == nil {
		loc = IST()
	}
	got, err := decodeObject(body)
	if err != nil {
		return Callback{}, nil, err
	}

	var c Callback
	var errs []FieldError
	reported := map[string]bool{}
	bad := func(field, msg string) {
		errs = append(errs, FieldError{field, msg})
		reported[field] = true
	}
	for _, name := range fieldNames() {
		r, ok := got[name]
		if !ok {
			bad(name, name+" is missing")
			continue
		}
		if r.key != name {
			c.Flags = append(c.Flags, FlagKeyCasePrefix+r.key)
		}
		s, problem := text(r.value)
		if problem != "" {
			bad(name, name+" "+problem)
			continue
		}
		if name == FieldCustomerIdentification {
			if !redact.IsMaskedAadhaar(s) {
				bad(name, aadhaarMessage(s))
				s = redact.MaskAadhaar(s)
			}
		} else if out, changed := redact.Body([]byte(s)); changed {
			s = string(out)
			c.Flags = append(c.Flags, FlagAadhaarRedacted+name)
		}
		*c.field(name) = s
	}

	t := normType(c.TxnType)
	c.TxnTypeKnown = knownType(t)
	if !c.TxnTypeKnown && !reported[FieldTxnType] && t != "" {
		c.Flags = append(c.Flags, FlagUnknownTxnType)
	}
	if d, ok := parseAmount(c.TxnAmount); ok {
		c.Amount = &d
		if (t == TxnBalanceEnquiry || t == TxnMiniStatement) && !d.IsZero() {
			c.Flags = append(c.Flags, FlagAmountOnNonMoneyTxn)
		}
	}
	c.Created = parseDate(c.CreatedDate, loc)
	c.Updated = parseDate(c.UpdatedDate, loc)
	c.TxnTime = parseDate(c.TxnDateTime, loc)

	for _, e := range c.Validate() {
		if !reported[e.Field] {
			errs = append(errs, e)
		}
	}
	order := map[string]int{}
	for i, n := range fieldNames() {
		order[n] = i
	}
	slices.SortStableFunc(errs, func(a, b FieldError) int { return order[a.Field] - order[b.Field] })
	return c, errs, nil
}

// Validate checks the value rules on the string fields (presence and JSON types are Parse's
// business). It is usable on a Callback from any source, e.g. one rebuilt from storage.
func (c Callback) Validate() []FieldError {
	var errs []FieldError
	bad := func(field, format string, a ...any) {
		errs = append(errs, FieldError{field, fmt.Sprintf(format, a...)})
	}
	// Free-text fields are bounded: txnType becomes a tx_type and a Temporal search attribute
	// (2 KB limit), status goes into state reasons, and none of them has any business being long.
	tooLong := func(name, v string, limit int) bool {
		if utf8.RuneCountInString(v) > limit {
			bad(name, "%s must be at most %d characters", name, limit)
			return true
		}
		return false
	}
	tooLong(FieldStatusDesc, c.StatusDesc, MaxStatusDesc)
	for _, f := range []struct {
		name, v string
	}{{FieldCreatedDate, c.CreatedDate}, {FieldUpdatedDate, c.UpdatedDate}} {
		if parseDate(f.v, time.UTC).IsZero() {
			bad(f.name, "%s must be a date and time as YYYY-MM-DD HH:MM:SS", f.name)
		}
	}
	tooLong(FieldProductCode, c.ProductCode, MaxCode)
	t := normType(c.TxnType)
	if t == "" {
		bad(FieldTxnType, "txnType must not be empty")
	} else if tooLong(FieldTxnType, c.TxnType, MaxCode) {
		t = "" // not a type anyone can act on; skip the amount rules that depend on it
	}
	switch amt, ok := parseAmount(c.TxnAmount); {
	case moneyMoving(t) && c.TxnAmount == "":
		bad(FieldTxnAmount, "txnAmount must not be empty for %s", t)
	case c.TxnAmount != "" && !ok:
		bad(FieldTxnAmount, "txnAmount must be an amount in rupees with at most two decimals, e.g. \"2000\" or \"2000.50\"")
	case moneyMoving(t) && (amt.LessThan(decimal.NewFromInt(MinAmount)) || amt.GreaterThan(decimal.NewFromInt(MaxAmount))):
		bad(FieldTxnAmount, "txnAmount must be between %d and %d for %s", MinAmount, MaxAmount, t)
	}
	if parseDate(c.TxnDateTime, time.UTC).IsZero() {
		bad(FieldTxnDateTime, "txnDateTime must be a date and time as YYYY-MM-DD HH:MM:SS")
	}
	if !redact.IsMaskedAadhaar(c.CustomerIdentification) {
		bad(FieldCustomerIdentification, "%s", aadhaarMessage(c.CustomerIdentification))
	}
	if strings.TrimSpace(c.Status) == "" {
		bad(FieldStatus, "status must not be empty")
	} else {
		tooLong(FieldStatus, c.Status, MaxCode)
	}
	if !rrnRE.MatchString(c.RRN) {
		bad(FieldRRN, "rrn must be exactly 12 digits")
	}
	if !txnIDRE.MatchString(c.TxnID) {
		bad(FieldTxnID, "txnId must be a positive whole number of at most 20 digits, without sign, decimal point, exponent or leading zeros")
	} else if _, err := strconv.ParseUint(c.TxnID, 10, 64); err != nil {
		bad(FieldTxnID, "txnId must not exceed 18446744073709551615")
	}
	if n := utf8.RuneCountInString(c.Username); n == 0 || n > 100 {
		bad(FieldUsername, "username must be 1 to 100 characters")
	}
	if n := utf8.RuneCountInString(c.ClientRefID); n == 0 || n > 20 {
		bad(FieldClientRefID, "ClientRefID must be 1 to 20 characters")
	} else if !ident.Printable(c.ClientRefID) {
		bad(FieldClientRefID, "ClientRefID must be printable text, without control characters or invalid UTF-8")
	}
	for _, f := range []struct {
		name, v string
	}{{FieldParamB, c.ParamB}, {FieldParamC, c.ParamC}} {
		if utf8.RuneCountInString(f.v) > 20 || !paramRE.MatchString(f.v) {
			bad(f.name, "%s must be at most 20 letters and digits (A-Z, a-z, 0-9)", f.name)
		}
	}
	return errs
}

func aadhaarMessage(s string) string {
	if redact.IsFullAadhaar(s) {
		return "customeridentIfication must be a masked Aadhaar number"
	}
	return "customeridentIfication must be a masked Aadhaar number with only the last 4 digits visible, e.g. xxxx-xxxx-5604"
}

func parseAmount(s string) (decimal.Decimal, bool) {
	if !amountRE.MatchString(s) {
		return decimal.Decimal{}, false
	}
	d, err := decimal.NewFromString(s)
	return d, err == nil
}

// parseDate parses s in loc; the zero time means s is not a valid date in DateLayout.
func parseDate(s string, loc *time.Location) time.Time {
	if !dateRE.MatchString(s) {
		return time.Time{} // time.Parse alone would accept single-digit hours and the like
	}
	t, err := time.ParseInLocation(DateLayout, s, loc)
	if err != nil {
		return time.Time{}
	}
	return t
}

// received is a known field's value and the key it came under.
type received struct {
	key   string
	value any
}

// decodeObject reads one JSON object, numbers as json.Number, and returns the known fields by
// canonical name.
func decodeObject(body []byte) (map[string]received, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("malformed JSON: empty body")
	}
	if err != nil {
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("body must be a JSON object")
	}
	seen := map[string]bool{}
	got := map[string]received{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("malformed JSON: %w", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("malformed JSON: object key is not a string")
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("malformed JSON: %w", err)
		}
		name, known := canonical(key)
		if seen[key] {
			if known {
				return nil, fmt.Errorf("duplicate key %q", key)
			}
			// Unknown keys are not echoed: they are the sender's free text.
			return nil, errors.New("duplicate key in the object")
		}
		seen[key] = true
		if !known {
			continue
		}
		if prev, dup := got[name]; dup {
			return nil, fmt.Errorf("keys %q and %q both name field %s", prev.key, key, name)
		}
		got[name] = received{key, v}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("malformed JSON: trailing data after the object")
	}
	return got, nil
}

// canonical returns the field a key names, matching exactly or else ignoring ASCII case. Unlike
// strings.EqualFold (and encoding/json), "ſtatus" or a Kelvin-sign K do not match: a key must be
// recognisable as the field by anyone reading the stored body.
func canonical(key string) (string, bool) {
	for _, n := range fieldNames() {
		if key == n {
			return n, true
		}
	}
	for _, n := range fieldNames() {
		if asciiEqualFold(key, n) {
			return n, true
		}
	}
	return "", false
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// text returns the exact text of a string or number; otherwise problem completes the sentence
// "<field> ...".
func text(v any) (s, problem string) {
	switch t := v.(type) {
	case string:
		return t, ""
	case json.Number:
		return t.String(), ""
	case nil:
		return "", "must not be null"
	case bool:
		return "", "must be a string, not a boolean"
	case map[string]any:
		return "", "must be a string, not an object"
	case []any:
		return "", "must be a string, not a list"
	}
	return "", "must be a string"
}
