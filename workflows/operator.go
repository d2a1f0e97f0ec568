package workflows

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aepsflow/aepsflow/txstate"
)

// The operator's view of a transaction in the Temporal Web UI: a one-line summary and Markdown
// details fixed at the start (StaticSummary, StaticDetails), and the workflow's current details
// (workflow.SetCurrentDetails). Everything here is plain text built from the input and the
// workflow's state, so that it is deterministic and safe in workflow code.

var typeNames = map[string]string{
	"cash_withdrawal": "Cash withdrawal",
	"balance_inquiry": "Balance inquiry",
	"mini_statement":  "Mini statement",
}

// TypeName is the transaction type as an operator reads it.
func TypeName(txType string) string {
	if n, ok := typeNames[txType]; ok {
		return n
	}
	if txType == "" {
		return "Transaction"
	}
	return oneLine(txType)
}

// hasAmount reports an amount worth showing: balance inquiries and mini statements carry none
// (or zero).
func hasAmount(a string) bool {
	a = strings.TrimSpace(a)
	return a != "" && strings.Trim(a, "0.") != ""
}

// AmountIndex is the amount as the TxAmount search attribute holds it: rupees as a float64,
// an index for the Web UI's column and range filters only (amounts have at most two decimals,
// which a float64 gives back exactly as set). ok is false when the amount is not a number.
func (in Input) AmountIndex() (rupees float64, ok bool) {
	d, err := decimal.NewFromString(strings.TrimSpace(in.Amount))
	if err != nil {
		return 0, false
	}
	return d.InexactFloat64(), true
}

// Summary is the one line the Web UI shows for the workflow, e.g.
// "Cash withdrawal Rs 500 · agent 20810200 · eko".
func (in Input) Summary() string {
	parts := []string{TypeName(in.TxType)}
	if hasAmount(in.Amount) {
		parts[0] += " Rs " + oneLine(in.Amount)
	}
	if in.AgentUserCode != "" {
		parts = append(parts, "agent "+oneLine(in.AgentUserCode))
	}
	parts = append(parts, oneLine(in.Provider))
	return strings.Join(parts, " · ")
}

// Details is the Markdown the Web UI shows under the summary: who and what, and where to read
// the full transaction.
func (in Input) Details() string {
	var b strings.Builder
	row := func(k, v string) { b.WriteString(fmt.Sprintf("- **%s:** %s\n", k, v)) }
	row("Reference", code(in.ClientRefID))
	if in.ProviderRef != "" && in.ProviderRef != in.ClientRefID {
		row("Provider's reference", code(in.ProviderRef))
	}
	row("Provider", code(in.Provider))
	row("Type", TypeName(in.TxType)+" ("+code(in.TxType)+")")
	if hasAmount(in.Amount) {
		row("Amount", "Rs "+code(in.Amount))
	}
	row("Agent", code(in.AgentUserCode))
	if in.Customer != "" {
		row("Customer", code(in.Customer))
	}
	if !in.CreatedAt.IsZero() {
		row("Created", in.CreatedAt.UTC().Format(timeLayout))
	}
	read := in.ReadURL()
	if strings.HasPrefix(read, "http") {
		row("Read API", fmt.Sprintf("[GET %s](%s) (header `Authorization: Bearer $ADMIN_TOKEN`)", in.readPath(), read))
	} else {
		row("Read API", code("GET "+read)+" (header `Authorization: Bearer $ADMIN_TOKEN`)")
	}
	return b.String()
}

const timeLayout = "2006-01-02 15:04:05 UTC"

// readPath is the read API's path for this transaction; the provider is named when it is not
// Eko, since a reference may exist under two providers.
func (in Input) readPath() string {
	p := "/v1/transactions/" + url.PathEscape(in.ClientRefID)
	if in.Provider != "" && in.Provider != txstate.ProviderEko {
		p += "?provider=" + url.QueryEscape(in.Provider)
	}
	return p
}

// ReadURL is the read API's URL (a path when the API's public URL is not configured).
func (in Input) ReadURL() string { return in.APIURL + in.readPath() }

// ResolveCommands are the exact commands that resolve this transaction once it is in
// needs_review: the CLI and the API call, with the decision left to the operator. Who resolves
// is the operator the token names.
func (in Input) ResolveCommands() string {
	api, base := "", in.APIURL
	if base == "" {
		base = "$API_URL"
	} else {
		api = " --api " + shellQuote(base)
	}
	ref := "--client-ref-id " + shellQuote(in.ClientRefID)
	resolve := base + "/v1/transactions/" + url.PathEscape(in.ClientRefID) + "/resolve"
	if in.Provider != txstate.ProviderEko {
		ref += " --provider " + shellQuote(in.Provider)
		resolve += "?provider=" + url.QueryEscape(in.Provider)
	}
	// Lines broken with backslashes, so that the Web UI shows them whole.
	return fmt.Sprintf("AEPSFLOW_TOKEN=<your operator token> aepsflow resolve%s \\\n"+
		"  %s \\\n"+
		"  --state success|failed --reason '<what you checked>'\n"+
		"curl -X POST %s \\\n"+
		"  -H \"Authorization: Bearer $AEPSFLOW_TOKEN\" -H 'Content-Type: application/json' \\\n"+
		"  -d '{\"state\":\"failed\",\"reason\":\"<what you checked>\"}'",
		api, ref, shellQuote(resolve))
}

// shellQuote quotes s for a POSIX shell when it holds anything but safe characters.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=?&%+@$", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// code is s as a Markdown code span, on one line and without backticks, so that request text
// cannot change the page's markup.
func code(s string) string {
	s = strings.ReplaceAll(oneLine(s), "`", "'")
	if s == "" {
		return "—"
	}
	return "`" + s + "`"
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// view is what the current details show; txn fills it as the transaction moves.
type view struct {
	state         txstate.State
	reason        string
	since         time.Time
	lastReport    string // e.g. "eko-response tx_status 2 at …"
	lastInquiry   string // e.g. "3: pending (tx_status 2) at …"
	inquiries     int
	nextInquiry   time.Time
	deadline      time.Time // Eko: no final status by then, needs_review
	responseBy    time.Time // no report by then: inquire or review
	providerTxnID string
	flag          string
}

// currentDetails renders v as Markdown for workflow.SetCurrentDetails.
func (in Input) currentDetails(v view) string {
	var b strings.Builder
	b.WriteString(fmt.Sprintf("**State:** `%s`", v.state))
	if !v.since.IsZero() {
		b.WriteString(" since " + v.since.UTC().Format(timeLayout))
	}
	b.WriteString("\n\n")
	row := func(k, v string) { b.WriteString(fmt.Sprintf("- **%s:** %s\n", k, v)) }
	if v.reason != "" {
		row("Reason", oneLine(v.reason))
	}
	if v.flag != "" {
		row("Flagged", oneLine(v.flag))
	}
	row("Last report", orText(v.lastReport, "none yet"))
	if in.Provider == txstate.ProviderEko {
		last := "none yet"
		if v.lastInquiry != "" {
			last = v.lastInquiry
		}
		row("Last inquiry", last)
	}
	if !v.nextInquiry.IsZero() {
		row("Next inquiry", v.nextInquiry.UTC().Format(timeLayout))
	}
	if v.state == txstate.Pending && !v.responseBy.IsZero() {
		then := "inquiry starts"
		if in.Provider != txstate.ProviderEko {
			then = string(txstate.NeedsReview)
		}
		row("Report expected by", v.responseBy.UTC().Format(timeLayout)+" (then "+then+")")
	}
	if in.Provider == txstate.ProviderEko && !v.deadline.IsZero() && v.state != txstate.NeedsReview && !txstate.IsFinal(v.state) {
		row("Deadline", v.deadline.UTC().Format(timeLayout)+" (no final status by then: needs_review)")
	}
	if v.providerTxnID != "" {
		row("Provider's transaction ID", code(v.providerTxnID))
	}
	if v.state == txstate.NeedsReview {
		b.WriteString("\n**To resolve**, check with the provider (or the bank statement), then run one of:\n\n```\n")
		b.WriteString(in.ResolveCommands())
		b.WriteString("\n```\n")
	}
	return b.String()
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Reason classes: the TxReason search attribute, one word for what the reason's text explains.
const (
	ReasonResponseTimeout  = "response_timeout"
	ReasonVerifying        = "verifying"
	ReasonReportedPending  = "reported_pending"
	ReasonReportedFinal    = "reported_final"
	ReasonRefundPending    = "refund_pending"
	ReasonInquiryFinal     = "inquiry_final"
	ReasonInquiryFailed    = "inquiry_failed"
	ReasonInquiryDeadline  = "inquiry_deadline"
	ReasonNotFound         = "not_found"
	ReasonReportsDisagree  = "reports_disagree"
	ReasonAmountMismatch   = "amount_mismatch"
	ReasonSuspiciousStatus = "suspicious_status"
	ReasonPartnerReported  = "partner_reported"
	ReasonPartnerUnknown   = "partner_unknown"
	ReasonResolved         = "resolved"
	ReasonOther            = "other"
)

// reasonClasses maps the workflow's reasons to classes by the words each kind of reason
// contains, first match first (the workflow words its reasons; TestReasonClass covers each).
var reasonClasses = []struct{ contains, class string }{
	{"resolved by ", ReasonResolved},
	{"amounts differ", ReasonAmountMismatch},
	{"no eko-response within", ReasonResponseTimeout},
	{"no partner callback received within", ReasonResponseTimeout},
	{"Transaction Inquiry kept failing", ReasonInquiryFailed},
	{"Transaction Inquiry failed", ReasonInquiryFailed},
	{"no final status from Eko within", ReasonInquiryDeadline},
	{"Eko does not know this transaction", ReasonNotFound},
	{", but ", ReasonReportsDisagree},
	{"suspicious tx_status", ReasonSuspiciousStatus},
	{"unexpected final tx_status", ReasonSuspiciousStatus},
	{"verifying with Transaction Inquiry", ReasonVerifying},
	{"refund pending", ReasonRefundPending},
	{"Transaction Inquiry reports", ReasonInquiryFinal},
	{"confirmed by Transaction Inquiry", ReasonInquiryFinal},
	{": inquiring", ReasonReportedPending},
	{"eko-response tx_status", ReasonReportedFinal},
	{"partner status still unknown", ReasonPartnerUnknown},
	{"neither success nor failure", ReasonPartnerUnknown},
	{"partner status ", ReasonPartnerReported},
}

// ReasonClass is the class of a state's reason ("other" when none fits).
func ReasonClass(reason string) string {
	for _, c := range reasonClasses {
		if strings.Contains(reason, c.contains) {
			return c.class
		}
	}
	return ReasonOther
}
