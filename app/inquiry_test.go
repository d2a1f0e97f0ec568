package app_test

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/aepsflow/aepsflow/activities"
	"github.com/aepsflow/aepsflow/app"
	"github.com/aepsflow/aepsflow/eko/inquiry"
	"github.com/aepsflow/aepsflow/metrics"
)

type fakeInquirer struct{ err error }

func (f fakeInquirer) Inquire(context.Context, string, string) (activities.InquiryResult, error) {
	return activities.InquiryResult{Class: activities.ClassFinal}, f.err
}
func (fakeInquirer) Permanent(error) bool { return false }

// TestObserveInquiries: each inquiry's result is counted by eko/inquiry's error kind (signature is
// Eko's 403, the one the inquiry-403 alert watches), and the call's own answer passes unchanged.
func TestObserveInquiries(t *testing.T) {
	m := metrics.New()
	tests := []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{&inquiry.Error{Kind: inquiry.KindSignature, HTTPStatus: 403}, "signature"},
		{&inquiry.Error{Kind: inquiry.KindTimeout, Retryable: true}, "timeout"},
		{errors.New("something else"), "other"},
	}
	for _, tt := range tests {
		_, err := app.ObserveInquiries(fakeInquirer{tt.err}, m).Inquire(context.Background(), "1", "u")
		if !errors.Is(err, tt.err) {
			t.Errorf("error %v, want %v passed through", err, tt.err)
		}
		if n := testutil.ToFloat64(m.Inquiries.WithLabelValues(tt.want)); n != 1 {
			t.Errorf("aepsflow_inquiries_total{result=%q} = %v, want 1", tt.want, n)
		}
	}
}
