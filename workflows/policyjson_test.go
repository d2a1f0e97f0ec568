package workflows

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestFormatDuration(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{30 * time.Second, "30s"}, {5 * time.Minute, "5m"}, {120 * time.Hour, "120h"}, {90 * time.Minute, "1h30m"},
		{time.Hour + time.Second, "1h0m1s"}, {200 * time.Millisecond, "200ms"}, {0, "0s"}, {10 * time.Minute, "10m"},
	} {
		got := FormatDuration(c.d)
		if got != c.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", c.d, got, c.want)
		}
		if back, err := time.ParseDuration(got); err != nil || back != c.d {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", got, back, err, c.d)
		}
	}
}

// TestPolicyJSON: the policy is written with duration strings, and read from strings or from the
// integer nanoseconds of inputs written before (recorded histories, outbox entries).
func TestPolicyJSON(t *testing.T) {
	p := Policy{ResponseTimeout: 5 * time.Minute, InquiryInitialBackoff: 30 * time.Second, InquiryMaxBackoff: 30 * time.Minute,
		InquiryDeadline: 120 * time.Hour, NotFoundGrace: 1500 * time.Millisecond, VerifySuccess: true, VerifyFailure: true,
		UnknownReviewAfter: 24 * time.Hour}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"response_timeout":"5m","inquiry_initial_backoff":"30s","inquiry_max_backoff":"30m","inquiry_deadline":"120h",` +
		`"not_found_grace":"1.5s","verify_success":true,"verify_failure":true,"unknown_review_after":"24h"}`
	if string(b) != want {
		t.Errorf("Marshal = %s\nwant      %s", b, want)
	}
	old := `{"response_timeout":300000000000,"inquiry_initial_backoff":30000000000,"inquiry_max_backoff":1800000000000,` +
		`"inquiry_deadline":432000000000000,"not_found_grace":1500000000,"verify_success":true,"verify_failure":true,"unknown_review_after":86400000000000}`
	mixed := `{"response_timeout":"5m0s","inquiry_initial_backoff":30000000000,"inquiry_max_backoff":"30m","inquiry_deadline":"120h0m0s",` +
		`"not_found_grace":"1.5s","verify_success":true,"verify_failure":true,"unknown_review_after":86400000000000}`
	for name, in := range map[string]string{"strings": want, "nanoseconds": old, "mixed": mixed} {
		var got Policy
		if err := json.Unmarshal([]byte(in), &got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != p {
			t.Errorf("%s: Unmarshal = %+v, want %+v", name, got, p)
		}
	}
	// Absent fields stay zero (withDefaults fills them), as before.
	var got Policy
	if err := json.Unmarshal([]byte(`{"response_timeout":"2s"}`), &got); err != nil || got != (Policy{ResponseTimeout: 2 * time.Second}) {
		t.Errorf("partial policy: %+v, %v", got, err)
	}
	for _, bad := range []string{`{"response_timeout":"soon"}`, `{"response_timeout":true}`, `{"response_timeout":1.5}`} {
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("Unmarshal(%s) succeeded, want an error", bad)
		}
	}
}

// TestPolicyJSONFields: every field of Policy survives a round trip, and no duration is written
// as nanoseconds.
func TestPolicyJSONFields(t *testing.T) {
	pt := reflect.TypeFor[Policy]()
	var p Policy
	v := reflect.ValueOf(&p).Elem()
	for i := range v.NumField() {
		switch f := v.Field(i); f.Kind() {
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int64:
			f.SetInt(int64(i+1) * int64(time.Second))
		default:
			t.Fatalf("Policy.%s has kind %s: teach this test", pt.Field(i).Name, f.Kind())
		}
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Policy
	if err := json.Unmarshal(b, &back); err != nil || back != p {
		t.Errorf("round trip of %s: %+v, %v; want %+v", b, back, err, p)
	}
	if strings.Contains(string(b), "000000000") {
		t.Errorf("durations written as nanoseconds: %s", b)
	}
	// omitempty still omits.
	if b, _ := json.Marshal(Policy{}); strings.Contains(string(b), "event_deadline") {
		t.Errorf("zero optional fields written: %s", b)
	}
}
