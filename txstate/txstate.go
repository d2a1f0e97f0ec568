// Package txstate names the states an AePS transaction moves through and the rules that relate
// providers' reports to them. It is shared by the API, the store and the workflow.
package txstate

// States. Final states end the transaction's workflow.
const (
	Pending         = "pending"
	Inquiry         = "inquiry"
	ReversalPending = "reversal_pending"
	Unknown         = "unknown"
	NeedsReview     = "needs_review"
	Success         = "success"
	Failed          = "failed"
	Reversed        = "reversed"
	Expired         = "expired"
)

// IsFinal reports whether state ends the transaction.
func IsFinal(state string) bool {
	switch state {
	case Success, Failed, Reversed, Expired:
		return true
	}
	return false
}

// FromEkoTxStatus maps a tx_status to the final state it reports, or "" for one that reports no
// final outcome (2 awaited, 3 refund pending, 5 hold, anything suspicious).
func FromEkoTxStatus(txStatus string) string {
	switch txStatus {
	case "0":
		return Success
	case "1":
		return Failed
	case "4":
		return Reversed
	}
	return ""
}

// Contradicts reports whether a reported final outcome disagrees with a transaction's final
// state. A report of no final outcome contradicts nothing.
func Contradicts(final, reported string) bool {
	if !IsFinal(final) || reported == "" {
		return false
	}
	return reported != final
}
