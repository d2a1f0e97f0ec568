package activities

import (
	"context"

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

// Permanent implements Inquirer: what ekoapi says retrying cannot fix, and a cancelled context.
func (e EkoInquirer) Permanent(err error) bool { return !ekoapi.IsRetryable(err) && ctxErr(err) == nil }

func ctxErr(err error) error {
	if err == context.Canceled || err == context.DeadlineExceeded {
		return err
	}
	return nil
}
