package workflows

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Duration is a time.Duration that JSON shows as a Go duration string ("30s", "120h"), so that
// an operator reads a workflow's policy in the Temporal Web UI. It decodes both that and the
// integer nanoseconds that inputs written before it carry (recorded histories, outbox entries).
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(FormatDuration(time.Duration(d)))
}

// UnmarshalJSON takes a Go duration string or a JSON number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration %s: neither a duration string nor integer nanoseconds", b)
	}
	*d = Duration(n)
	return nil
}

// FormatDuration is time.Duration's String without the zero units it ends with: "5m", not
// "5m0s"; "120h", not "120h0m0s". time.ParseDuration reads it back exactly.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// policyJSON is Policy as it travels: the same fields and names, durations as Duration.
type policyJSON struct {
	ResponseTimeout       Duration `json:"response_timeout"`
	InquiryInitialBackoff Duration `json:"inquiry_initial_backoff"`
	InquiryMaxBackoff     Duration `json:"inquiry_max_backoff"`
	InquiryDeadline       Duration `json:"inquiry_deadline"`
	NotFoundGrace         Duration `json:"not_found_grace"`
	VerifySuccess         bool     `json:"verify_success"`
	VerifyFailure         bool     `json:"verify_failure"`
	UnknownReviewAfter    Duration `json:"unknown_review_after"`
}

// MarshalJSON shows the durations as Go duration strings. The workflow only decodes its input
// (the relay encodes it), so this changes nothing the workflow records, and histories whose
// input holds nanoseconds decode as before (UnmarshalJSON).
func (p Policy) MarshalJSON() ([]byte, error) {
	return json.Marshal(policyJSON{
		ResponseTimeout: Duration(p.ResponseTimeout), InquiryInitialBackoff: Duration(p.InquiryInitialBackoff),
		InquiryMaxBackoff: Duration(p.InquiryMaxBackoff), InquiryDeadline: Duration(p.InquiryDeadline),
		NotFoundGrace: Duration(p.NotFoundGrace), VerifySuccess: p.VerifySuccess, VerifyFailure: p.VerifyFailure,
		UnknownReviewAfter: Duration(p.UnknownReviewAfter),
	})
}

// UnmarshalJSON reads durations as strings or integer nanoseconds.
func (p *Policy) UnmarshalJSON(b []byte) error {
	var j policyJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	*p = Policy{
		ResponseTimeout: time.Duration(j.ResponseTimeout), InquiryInitialBackoff: time.Duration(j.InquiryInitialBackoff),
		InquiryMaxBackoff: time.Duration(j.InquiryMaxBackoff), InquiryDeadline: time.Duration(j.InquiryDeadline),
		NotFoundGrace: time.Duration(j.NotFoundGrace), VerifySuccess: j.VerifySuccess, VerifyFailure: j.VerifyFailure,
		UnknownReviewAfter: time.Duration(j.UnknownReviewAfter),
	}
	return nil
}
