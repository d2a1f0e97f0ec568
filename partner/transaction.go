package partner

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Our tx_type names for the partner's txnType values. They match the Eko side where the
// transaction is the same kind (cash_withdrawal).
const (
	TxTypeCashWithdrawal = "cash_withdrawal"
	TxTypeBalanceInquiry = "balance_inquiry"
	TxTypeMiniStatement  = "mini_statement"
	TxTypeAadhaarPay     = "aadhaar_pay"
	TxTypeCashDeposit    = "cash_deposit"
)

// TxType maps a txnType to our tx_type. An unknown type is kept, lower-cased, rather than
// dropped: the callback is flagged and someone decides what it is.
func TxType(txnType string) string {
	switch t := normType(txnType); t {
	case TxnCashWithdrawal:
		return TxTypeCashWithdrawal
	case TxnBalanceEnquiry:
		return TxTypeBalanceInquiry
	case TxnMiniStatement:
		return TxTypeMiniStatement
	case TxnAadhaarPay:
		return TxTypeAadhaarPay
	case TxnCashDeposit:
		return TxTypeCashDeposit
	default:
		return strings.ToLower(t)
	}
}

// TxType is TxType(c.TxnType).
func (c Callback) TxType() string { return TxType(c.TxnType) }

// DetailsHash identifies what the transaction is, as opposed to how it ended: type, amount,
// agent and ClientRefID. Every callback for one ClientRefID must carry the same details, even
// under another txnId; one that does not describes some other transaction. The amount is
// compared as a number ("2000" equals "2000.00"), and an empty amount equals zero.
func (c Callback) DetailsHash() string {
	amount := ""
	if c.Amount != nil && !c.Amount.IsZero() {
		amount = c.Amount.String()
	}
	h := sha256.New()
	for i, v := range []string{c.TxType(), amount, c.Username, c.ClientRefID} {
		fmt.Fprintf(h, "%d:%d:%s\n", i, len(v), v)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Describe joins the first few field errors into one statusDesc for the partner's reply (it
// retries on status 1, so the reply must say what to fix, and stay short).
func Describe(errs []FieldError) string {
	const show = 3
	msgs := make([]string, 0, show)
	for i, e := range errs {
		if i == show {
			break
		}
		msgs = append(msgs, e.Message)
	}
	s := strings.Join(msgs, "; ")
	if n := len(errs) - show; n > 0 {
		s += fmt.Sprintf("; and %d more", n)
	}
	return s
}
