package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/aepsflow/aepsflow/eko/inquiry"
	"github.com/aepsflow/aepsflow/eko/sign"
)

func TestEkoInquirerPermanent(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"signature refused", &inquiry.Error{Op: "inquire 1", HTTPStatus: 403, Kind: inquiry.KindSignature}, true},
		{"bad request", &inquiry.Error{Op: "inquire 1", HTTPStatus: 400, Kind: inquiry.KindHTTPStatus}, true},
		{"server error", &inquiry.Error{Op: "inquire 1", HTTPStatus: 502, Kind: inquiry.KindHTTPStatus, Retryable: true}, false},
		{"network", &inquiry.Error{Op: "inquire 1", Kind: inquiry.KindNetwork, Retryable: true}, false},
		{"eko error reply", &inquiry.Error{Op: "inquire 1", HTTPStatus: 200, Kind: inquiry.KindEkoError, Retryable: true}, false},
		{"context cancelled", context.Canceled, false},
		// eko/inquiry wraps the caller's context error: shutdown or an activity timeout.
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

// TestInquireEkoReplies runs Eko's replies through the real client: only the documented
// not-found replies reach the workflow as not_found; any other error reply is retried (the
// workflow's retry policy keeps asking until its deadline, then needs_review).
func TestInquireEkoReplies(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantClass string // "": a retryable error
	}{
		{"not found 463", `{"status":1,"response_status_id":463,"data":{}}`, ClassNotFound},
		{"-1 is not proof of not found", `{"status":1,"response_status_id":-1,"data":[]}`, ""},
		{"user not onboarded", `{"status":1,"response_status_id":1237,"message":"User not onboarded","data":{}}`, ""},
		{"status 1 without response_status_id", `{"status":1,"data":{}}`, ""},
		{"status 347", `{"status":347,"response_status_id":347,"data":{}}`, ""},
		{"success", `{"status":0,"response_status_id":0,"data":{"tx_status":"0"}}`, ClassFinal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(tc.body)) }))
			t.Cleanup(srv.Close)
			c, err := inquiry.New(inquiry.Config{BaseURL: srv.URL, DeveloperKey: "dev", InitiatorID: "9962981729"}, sign.NewSigner("key"), nil)
			if err != nil {
				t.Fatal(err)
			}
			// The store is only reached after a successful inquiry: test the error path through
			// Activities, the answers through the Inquirer.
			inq := EkoInquirer{Client: c}
			if tc.wantClass != "" {
				res, err := inq.Inquire(context.Background(), "1", "2")
				if err != nil || res.Class != tc.wantClass {
					t.Fatalf("Inquire = %+v, %v; want class %s", res, err, tc.wantClass)
				}
				return
			}
			_, err = (&Activities{Inquirer: inq}).Inquire(context.Background(), InquiryRequest{WorkflowID: "aeps/eko/1", ClientRefID: "1", UserCode: "2"})
			var appErr *temporal.ApplicationError
			if err == nil || (errors.As(err, &appErr) && appErr.NonRetryable()) || !inquiry.IsRetryable(err) {
				t.Fatalf("Inquire error %v: want a retryable ekoapi error", err)
			}
			var e *inquiry.Error
			if !errors.As(err, &e) || e.Kind != inquiry.KindEkoError {
				t.Fatalf("Inquire error %v: want kind %s", err, inquiry.KindEkoError)
			}
		})
	}
}
