package activities

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/aepsflow/aepsflow/ekoapi"
)

func TestEkoInquirerPermanent(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"signature refused", &ekoapi.Error{Op: "inquire 1", HTTPStatus: 403, Kind: ekoapi.KindSignature}, true},
		{"bad request", &ekoapi.Error{Op: "inquire 1", HTTPStatus: 400, Kind: ekoapi.KindHTTPStatus}, true},
		{"server error", &ekoapi.Error{Op: "inquire 1", HTTPStatus: 502, Kind: ekoapi.KindHTTPStatus, Retryable: true}, false},
		{"network", &ekoapi.Error{Op: "inquire 1", Kind: ekoapi.KindNetwork, Retryable: true}, false},
		{"context cancelled", context.Canceled, false},
		// ekoapi wraps the caller's context error: shutdown or an activity timeout.
		{"wrapped context cancelled", fmt.Errorf("ekoapi: inquire 1: %w", context.Canceled), false},
		{"wrapped deadline", fmt.Errorf("ekoapi: inquire 1: %w", context.DeadlineExceeded), false},
		{"bad input", errors.New("ekoapi: inquire: empty client_ref_id"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := (EkoInquirer{}).Permanent(tc.err); got != tc.want {
				t.Errorf("Permanent(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// scripted fails every inquiry with err and says whether it is permanent.
type scripted struct {
	err       error
	permanent bool
}

func (s scripted) Inquire(context.Context, string, string) (InquiryResult, error) {
	return InquiryResult{}, s.err
}

func (s scripted) Permanent(error) bool { return s.permanent }

func TestInquireErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name          string
		ctx           context.Context
		inq           scripted
		wantRetryable bool
	}{
		{"transient", context.Background(), scripted{err: errors.New("connection reset")}, true},
		{"permanent", context.Background(), scripted{err: errors.New("HTTP 403"), permanent: true}, false},
		{"our context ended", cancelled, scripted{err: fmt.Errorf("inquire: %w", context.Canceled), permanent: true}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &Activities{Inquirer: tc.inq}
			_, err := a.Inquire(tc.ctx, InquiryRequest{WorkflowID: "aeps/eko/1", ClientRefID: "1", UserCode: "2"})
			if err == nil {
				t.Fatal("no error")
			}
			var appErr *temporal.ApplicationError
			nonRetryable := errors.As(err, &appErr) && appErr.NonRetryable() && appErr.Type() == ErrTypeNonRetryable
			if nonRetryable == tc.wantRetryable {
				t.Errorf("error %v: non-retryable %v, want retryable %v", err, nonRetryable, tc.wantRetryable)
			}
			if !errors.Is(err, tc.inq.err) && !nonRetryable {
				t.Errorf("error %v does not wrap %v", err, tc.inq.err)
			}
		})
	}
}
