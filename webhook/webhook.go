// Package webhook sends aepsflow's signed events to the platform's backend (WEBHOOK_URL) and
// verifies them, the way the platform should.
//
// Each POST carries the event as JSON, an Idempotency-Key header equal to its event_id, and
//
//	Aepsflow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with WEBHOOK_SECRET>
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers.
const (
	SignatureHeader   = "Aepsflow-Signature"
	IdempotencyHeader = "Idempotency-Key"
)

// Event types.
const (
	TypeSucceeded       = "transaction.succeeded"
	TypeFailed          = "transaction.failed"
	TypeReversed        = "transaction.reversed"
	TypeExpired         = "transaction.expired"
	TypeNeedsReview     = "transaction.needs_review"
	TypeResolved        = "transaction.resolved"
	TypeReconciliation  = "reconciliation.completed"
	DefaultTolerance    = 5 * time.Minute
	maxResponseBodyRead = 4 << 10
)

// Event is a transaction event's body. Amounts are decimal strings; nothing personal (no
// customer mobile, no Aadhaar) is ever in it.
type Event struct {
	EventID       string  `json:"event_id"`
	Type          string  `json:"type"`
	Provider      string  `json:"provider"`
	ClientRefID   string  `json:"client_ref_id"`
	TxType        string  `json:"tx_type"`
	AgentUserCode string  `json:"agent_user_code"`
	Amount        *string `json:"amount"`
	Commission    *string `json:"commission"`
	TDS           *string `json:"tds"`
	TID           string  `json:"tid"`
	BankRefNum    string  `json:"bank_ref_num"`
	State         string  `json:"state"`
	Reason        string  `json:"reason"`
	OccurredAt    string  `json:"occurred_at"`
}

// EventID is stable for one transaction (its workflow ID) and one event type: every retry, every
// worker and every re-send computes the same one.
func EventID(workflowID, typ string) string {
	sum := sha256.Sum256([]byte(workflowID + "\x00" + typ))
	return "evt_" + hex.EncodeToString(sum[:16])
}

// Sign returns the signature header's value for body at unix time t.
func Sign(secret []byte, t int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	ts := strconv.FormatInt(t, 10)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// ErrSignature is returned by Verify for a header that does not match.
var ErrSignature = errors.New("webhook signature does not verify")

// Verify checks a signature header against the raw body, in constant time, and refuses a
// timestamp further than tolerance from now (a replayed old delivery).
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return fmt.Errorf("%w: malformed header", ErrSignature)
	}
	if d := now.Sub(time.Unix(t, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp outside tolerance", ErrSignature)
	}
	want := Sign(secret, t, body)
	_, wantV1, _ := strings.Cut(want, ",v1=")
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(wantV1)) {
			return nil
		}
	}
	return ErrSignature
}

// Client posts events to the platform.
type Client struct {
	URL    string
	Secret []byte
	HTTP   *http.Client
	Now    func() time.Time
}

// LogValue keeps the secret out of logs.
func (c *Client) LogValue() slog.Value { return slog.StringValue(c.URL) }

// Result is one delivery attempt's outcome.
type Result struct {
	Status int    // HTTP status, 0 when no answer
	Detail string // the error, or the start of a non-2xx answer
}

// OK reports an acknowledgement: any 2xx.
func (r Result) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Send posts body once, signed now, with the idempotency key eventID.
func (c *Client) Send(ctx context.Context, eventID string, body []byte) Result {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return Result{Detail: "build request: " + err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "aepsflow-webhook/1")
	req.Header.Set(IdempotencyHeader, eventID)
	req.Header.Set(SignatureHeader, Sign(c.Secret, now().Unix(), body))
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Result{Detail: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBodyRead))
	r := Result{Status: resp.StatusCode}
	if !r.OK() {
		r.Detail = fmt.Sprintf("HTTP %d: %.200s", resp.StatusCode, b)
	}
	return r
}
