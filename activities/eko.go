package activities

import (
	"context"
	"errors"

	"github.com/aepsflow/aepsflow/eko/inquiry"
)

// EkoInquirer adapts eko/inquiry's client to the workflow's view of an inquiry.
type EkoInquirer struct{ Client *inquiry.Client }

// Inquire implements Inquirer.
func (e EkoInquirer) Inquire(ctx context.Context, clientRefID, userCode string) (InquiryResult, error) {
	r, err := e.Client.Inquire(ctx, clientRefID, userCode)
	if err != nil {
		return InquiryResult{}, err
	}
	class := ClassSuspicious
	switch r.Class {
	case inquiry.ClassFinal:
		class = ClassFinal
	case inquiry.ClassPending:
		class = ClassPending
	case inquiry.ClassReversalPending:
		class = ClassReversalPending
	case inquiry.ClassNotFound:
		class = ClassNotFound
	}
	return InquiryResult{Class: class, TxStatus: r.TxStatus, TxStatusDesc: r.TxStatusDesc, TID: r.TID,
		BankRefNum: r.BankRefNum, Amount: r.Amount}, nil
}

// Permanent implements Inquirer: what eko/inquiry says retrying cannot fix. A context error is never
// permanent: eko/inquiry wraps it when the activity times out or the worker shuts down, and another
// attempt may well succeed.
func (e EkoInquirer) Permanent(err error) bool {
	return !inquiry.IsRetryable(err) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}
