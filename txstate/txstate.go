// Package txstate names the states an AePS transaction moves through, its providers, and the rules
// that relate providers' reports to states. It is shared by the API, the store and the workflow.
package txstate

// Providers: a transaction comes from Eko or from a partner, "partner:<client_id>".
const (
	ProviderEko   = "eko"
	PartnerPrefix = "partner:"
)

// State is where a transaction stands. The values are stored in PostgreSQL, recorded in workflow
// histories and set as the TxState search attribute, so they never change.
type State string

// States. Final states end the transaction's workflow.
const (
	Pending         State = "pending"
	Inquiry         State = "inquiry"
	ReversalPending State = "reversal_pending"
	Unknown         State = "unknown"
	NeedsReview     State = "needs_review"
	Success         State = "success"
	Failed          State = "failed"
	Reversed        State = "reversed"
	Expired         State = "expired"
)

// All lists every state, for validating a state named in a request.
func All() []State {
	return []State{Pending, Inquiry, ReversalPending, Unknown, NeedsReview, Success, Failed, Reversed, Expired}
}

// IsFinal reports whether state ends the transaction.
func IsFinal(state State) bool {
	switch state {
	case Success, Failed, Reversed, Expired:
		return true
	}
	return false
}

// Money classes: what a report or a final state says about the customer's money. Reports of one
// class can follow each other (3 may become 4 or agree with 1); reports of different classes
// conflict. The workflow, the store and the late-report handler all compare these, so a late
// report is flagged exactly when the workflow would have called it a conflict.
const (
	MoneyMoved   = "money_moved"
	NoMoneyMoved = "no_money_moved"
)

// EkoClass is the money class a tx_status reports: 0 moved; 1 failed, 3 refund pending and 4
// refunded end with no money moved. "" for no outcome yet: 2, 5, missing or undocumented.
func EkoClass(txStatus string) string {
	switch txStatus {
	case "0":
		return MoneyMoved
	case "1", "3", "4":
		return NoMoneyMoved
	}
	return ""
}

// StateClass is the money class of a final state, or "" for a state that is not final.
func StateClass(state State) string {
	switch state {
	case Success:
		return MoneyMoved
	case Failed, Reversed, Expired:
		return NoMoneyMoved
	}
	return ""
}

// Contradicts reports whether a report of the final state reported (a partner's success or
// failed) disagrees with a transaction's final state. A report of no final outcome ("")
// contradicts nothing.
func Contradicts(final, reported State) bool { return conflicts(final, StateClass(reported)) }

// ContradictsEko reports whether an Eko report of txStatus disagrees with a transaction's final
// state: a late 3 after success does, a late 4 after failed does not.
func ContradictsEko(final State, txStatus string) bool { return conflicts(final, EkoClass(txStatus)) }

func conflicts(final State, class string) bool {
	return IsFinal(final) && class != "" && class != StateClass(final)
}

// ReportClass groups Eko's tx_status values by what a report asks of the workflow: success (0),
// failed (1), pending (2 or missing: inquire), refund_pending (3), refunded (4), and other (5
// and anything undocumented: review). A report of a class already delivered adds nothing, so it
// is stored but not signalled.
func ReportClass(txStatus string) string {
	switch txStatus {
	case "0":
		return "success"
	case "1":
		return "failed"
	case "2", "":
		return "pending"
	case "3":
		return "refund_pending"
	case "4":
		return "refunded"
	}
	return "other"
}
