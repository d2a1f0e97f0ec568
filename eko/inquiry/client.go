// Package inquiry is a client for Eko's Transaction Inquiry API: the server-side check of a
// transaction's real outcome. The AePS gateway's callbacks come from the agent's browser and can be
// forged, lost or repeated, so only an inquiry decides whether money moved.
//
// Config.BaseURL is the full prefix of the chosen API version, with no trailing path of its own:
//
//	v3 (default): https://staging.eko.in/ekoapi/v3 (UAT), https://api.eko.in:25002/ekoicici/v3 (production)
//	  -> GET {BaseURL}/tools/reference/transaction/client_ref_id:{ref}?initiator_id=...&user_code=...
//	v1:           https://staging.eko.in/ekoapi/v1 (UAT)
//	  -> GET {BaseURL}/transactions/client_ref_id:{ref}?initiator_id=...
//
// Every call carries developer_key and a freshly signed secret-key / secret-key-timestamp pair (a
// stale timestamp is answered with 403). Inquire returns a Result classified by tx_status (see
// Class), or an *Error that says whether retrying can help (IsRetryable). Money and status codes
// are kept as the exact strings Eko sent; nothing is decoded through float64.
package inquiry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aepsflow/aepsflow/eko/sign"
)

const (
	// DefaultTimeout bounds one inquiry call when Config.Timeout is zero.
	DefaultTimeout = 15 * time.Second
	// maxBodyBytes caps how much of a response is read: an inquiry answer is a few hundred bytes,
	// and a misbehaving proxy must not be able to exhaust memory.
	maxBodyBytes = 1 << 20
)

// Config configures a Client.
type Config struct {
	BaseURL      string        // full prefix for Version, e.g. https://staging.eko.in/ekoapi/v3
	Version      string        // "v3" (default when empty) or "v1"
	DeveloperKey string        // sent as the developer_key header; never printed
	InitiatorID  string        // Eko initiator_id (the partner's registered mobile number)
	Timeout      time.Duration // per call, DefaultTimeout when zero
}

// String keeps the developer key and the initiator's mobile number out of formatted output.
func (c Config) String() string {
	return fmt.Sprintf("inquiry.Config{BaseURL:%s Version:%s DeveloperKey:[redacted] InitiatorID:%s Timeout:%s}",
		c.BaseURL, c.Version, maskTail(c.InitiatorID), c.Timeout)
}

// GoString keeps the same fields out of %#v.
func (c Config) GoString() string { return c.String() }

// LogValue keeps the same fields out of slog output (a JSON handler would otherwise marshal them).
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", c.BaseURL),
		slog.String("version", c.Version),
		slog.String("developer_key", "[redacted]"),
		slog.String("initiator_id", maskTail(c.InitiatorID)),
		slog.Duration("timeout", c.Timeout),
	)
}

// maskTail shows only the last 4 characters, enough to tell configurations apart.
func maskTail(s string) string {
	if len(s) <= 4 {
		return strings.Repeat("*", len(s))
	}
	return strings.Repeat("*", len(s)-4) + s[len(s)-4:]
}

// Client calls the Transaction Inquiry API. It is safe for concurrent use once built.
type Client struct {
	// Now is the clock used to sign each call; tests replace it. Set it before first use.
	Now func() time.Time

	base         string // BaseURL without trailing slash
	version      string
	developerKey string
	initiatorID  string
	timeout      time.Duration
	signer       *sign.Signer
	hc           *http.Client
}

// New validates cfg and returns a Client. When hc is nil a client with cfg's timeout is used.
// Either way redirects are not followed: Go would copy the developer_key and secret-key headers
// to the redirect target, wherever it is.
func New(cfg Config, signer *sign.Signer, hc *http.Client) (*Client, error) {
	if err := validateBaseURL(cfg.BaseURL); err != nil {
		return nil, err
	}
	version := cfg.Version
	if version == "" {
		version = "v3"
	}
	if version != "v3" && version != "v1" {
		return nil, fmt.Errorf("ekoapi: Version %q is not supported (want v3 or v1)", cfg.Version)
	}
	if cfg.DeveloperKey == "" {
		return nil, errors.New("ekoapi: DeveloperKey is required")
	}
	// Checked here, not at the first call, so a pasted key with a newline fails at start-up; the
	// value itself is never echoed.
	if strings.ContainsFunc(cfg.DeveloperKey, isCtlOrSpace) {
		return nil, errors.New("ekoapi: DeveloperKey contains whitespace or control characters")
	}
	if cfg.InitiatorID == "" {
		return nil, errors.New("ekoapi: InitiatorID is required")
	}
	if signer == nil {
		return nil, errors.New("ekoapi: a signer is required")
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("ekoapi: Timeout %s is negative", cfg.Timeout)
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}

	var client http.Client
	if hc != nil {
		client = *hc // shallow copy: share the transport, but do not change the caller's client
	} else {
		client.Timeout = timeout
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	return &Client{
		Now:          time.Now,
		base:         strings.TrimRight(cfg.BaseURL, "/"),
		version:      version,
		developerKey: cfg.DeveloperKey,
		initiatorID:  cfg.InitiatorID,
		timeout:      timeout,
		signer:       signer,
		hc:           &client,
	}, nil
}

func isCtlOrSpace(r rune) bool { return r <= ' ' || r == 0x7f }

func validateBaseURL(raw string) error {
	if raw == "" {
		return errors.New("ekoapi: BaseURL is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // url.Error repeats the whole URL, which could hold credentials
		}
		return fmt.Errorf("ekoapi: BaseURL is not a valid URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("ekoapi: BaseURL scheme %q is not http or https", u.Scheme)
	case u.Host == "":
		return errors.New("ekoapi: BaseURL has no host")
	case u.User != nil:
		return errors.New("ekoapi: BaseURL must not contain user info")
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return errors.New("ekoapi: BaseURL must not have a query or fragment")
	}
	return nil
}

// String keeps secrets out of formatted output.
func (c *Client) String() string {
	return fmt.Sprintf("ekoapi.Client{%s %s}", c.version, c.base)
}

// GoString keeps secrets out of %#v.
func (c *Client) GoString() string { return c.String() }

// LogValue keeps secrets out of slog output.
func (c *Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("version", c.version), slog.String("base_url", c.base))
}

// Inquire asks Eko for the state of the transaction with our clientRefID. userCode (the agent's
// Eko user code) is required by v3 and not sent by v1.
//
// A nil error means Eko answered and the Result is classified; ClassNotFound is an answer, not
// an error. Errors are *Error (see IsRetryable), or the caller's context error when ctx itself
// was cancelled or expired.
func (c *Client) Inquire(ctx context.Context, clientRefID, userCode string) (Result, error) {
	op := "inquire " + clientRefID
	if clientRefID == "" {
		return Result{}, errors.New("ekoapi: inquire: empty client_ref_id")
	}
	if c.version == "v3" && userCode == "" {
		return Result{}, fmt.Errorf("ekoapi: %s: v3 needs a user_code", op)
	}

	// Our own deadline as well as hc.Timeout: a caller-supplied http.Client may have none.
	callCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(callCtx, http.MethodGet, c.inquiryURL(clientRefID, userCode), nil)
	if err != nil {
		return Result{}, fmt.Errorf("ekoapi: %s: build request: %w", op, err)
	}
	c.sign(req)

	resp, err := c.hc.Do(req)
	if err != nil {
		return Result{}, transportError(ctx, callCtx, op, 0, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	if err != nil {
		return Result{}, transportError(ctx, callCtx, op, resp.StatusCode, err)
	}
	return interpret(op, resp.StatusCode, body)
}

// inquiryURL builds the versioned URL. The ref is path-escaped so a "/" or "?" in it cannot
// change which resource is asked for.
func (c *Client) inquiryURL(ref, userCode string) string {
	q := url.Values{"initiator_id": {c.initiatorID}}
	var path string
	if c.version == "v1" {
		path = "/transactions/client_ref_id:" + url.PathEscape(ref)
	} else {
		path = "/tools/reference/transaction/client_ref_id:" + url.PathEscape(ref)
		q.Set("user_code", userCode)
	}
	return c.base + path + "?" + q.Encode()
}

// sign sets the auth headers with a timestamp taken now: Eko rejects stale ones, so a signature
// is never reused across calls (or retries).
func (c *Client) sign(req *http.Request) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	ts := sign.Timestamp(now())
	// Set directly, not via Header.Set, to send the names exactly as Eko documents them rather than
	// canonicalised ("Developer_key"); HTTP says case does not matter, but that is Eko's to honour.
	req.Header["developer_key"] = []string{c.developerKey}
	req.Header["secret-key"] = []string{c.signer.SecretKey(ts)}
	req.Header["secret-key-timestamp"] = []string{ts}
	req.Header.Set("Accept", "application/json")
}

// transportError classifies a failure to get (or finish reading) a response.
func transportError(parent, call context.Context, op string, status int, err error) error {
	if perr := parent.Err(); perr != nil {
		// The caller gave up (shutdown, workflow cancelled, its own deadline): retrying here
		// would ignore that decision, so hand back its context error.
		return fmt.Errorf("ekoapi: %s: %w", op, perr)
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err // url.Error repeats the URL, whose query holds the initiator's mobile number
	}
	var nerr interface{ Timeout() bool }
	if call.Err() != nil || (errors.As(err, &nerr) && nerr.Timeout()) {
		// Eko may still be working on it, or the answer was lost: ask again later.
		return &Error{Op: op, HTTPStatus: status, Retryable: true, Kind: KindTimeout, Err: err}
	}
	return &Error{Op: op, HTTPStatus: status, Retryable: true, Kind: KindNetwork, Err: err}
}

// interpret turns a complete HTTP response into a Result or an *Error.
func interpret(op string, status int, body []byte) (Result, error) {
	switch {
	case status == http.StatusForbidden:
		// Eko answers 403 for a bad developer_key/secret-key or a stale secret-key-timestamp.
		// Neither heals by retrying: a wrong key stays wrong, and a stale timestamp means our
		// clock is skewed, so every retry is signed by the same skewed clock. Both need an
		// operator; a retry loop would only hammer Eko and hide the alarm.
		return Result{}, &Error{Op: op, HTTPStatus: status, Kind: KindSignature, Err: statusDetail(body)}
	case status >= 200 && status < 300:
		if len(body) > maxBodyBytes {
			return Result{}, &Error{Op: op, HTTPStatus: status, Retryable: true, Kind: KindGarbage,
				Err: fmt.Errorf("response body exceeds %d bytes", maxBodyBytes)}
		}
		r, err := parse(body)
		var reply *errorReply
		if errors.As(err, &reply) {
			// Eko refused to say (it also does so for bad input such as a wrong user_code):
			// retried with backoff until the workflow's deadline, then an operator looks.
			return Result{}, &Error{Op: op, HTTPStatus: status, Retryable: true, Kind: KindEkoError, Err: err}
		}
		if err != nil {
			// A 200 we cannot read is most likely a proxy or maintenance page: transient.
			return Result{}, &Error{Op: op, HTTPStatus: status, Retryable: true, Kind: KindGarbage, Err: err}
		}
		r.HTTPStatus = status
		return r, nil
	case status == http.StatusNotFound:
		// Some deployments say "no such transaction" with a 404 and Eko's envelope: that is an
		// answer. A 404 without it (wrong BaseURL) is a configuration error.
		if r, err := parse(body); err == nil && r.Class == ClassNotFound {
			r.HTTPStatus = status
			return r, nil
		}
		return Result{}, &Error{Op: op, HTTPStatus: status, Kind: KindHTTPStatus, Err: statusDetail(body)}
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
		return Result{}, &Error{Op: op, HTTPStatus: status, Retryable: true, Kind: KindHTTPStatus, Err: statusDetail(body)}
	default:
		// 400, 401, 3xx and other 4xx: our request or configuration is wrong; the same request
		// will get the same answer.
		return Result{}, &Error{Op: op, HTTPStatus: status, Kind: KindHTTPStatus, Err: statusDetail(body)}
	}
}
