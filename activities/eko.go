package activities

import (
	"context"
	"errors"

	"github.com/aepsflow/aepsflow/ekoapi"
)

// EkoInquirer adapts ekoapi's client to the workflow's view of an inquiry.
type EkoInquirer struct{ Client *ekoapi.Client }

// Inquire implements Inquirer.
func (e EkoInquirer) Inquire(ctx context.Context, clientRefID, userCode string) (InquiryResult, error) {
	r, err := e.Client.Inquire(ctx, clientRefID, userCode)
	if err != nil {
		return InquiryResult{}, err
	}
	class := ClassSuspicious
	switch r.Class {
	case ekoapi.ClassFinal:
		class = ClassFinal
	case ekoapi.ClassPending:
		class = ClassPending
	case ekoapi.ClassReversalPending:
		class = ClassReversalPending
	case ekoapi.ClassNotFound:
		class = ClassNotFound
	}
	return InquiryResult{Class: class, TxStatus: r.TxStatus, TxStatusDesc: r.TxStatusDesc, TID: r.TID,
		BankRefNum: r.BankRefNum, Amount: r.Amount}, nil
}

// Permanent implements Inquirer: what ekoapi says retrying cannot fix. A context error is never
// permanent: ekoapi wraps it when the activity times out or the worker shuts down, and another
// attempt may well succeed.
func (e EkoInquirer) Permanent(err error) bool {
	return !ekoapi.IsRetryable(err) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}
