package inquiry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Eko's tx_status values as Result.TxStatus holds them (a JSON 0 and "0" both read "0").
const (
	TxSuccess       = "0"
	TxFailed        = "1"
	TxAwaited       = "2" // awaited / initiated: inquire again
	TxRefundPending = "3"
	TxRefunded      = "4"
	TxHold          = "5" // on hold: inquire again
)

// Class is what an inquiry answer means for the caller.
type Class int

const (
	// The zero Class is deliberately not a decision, so an unset Result is never read as final.
	_ Class = iota
	// ClassFinal: tx_status 0 (success), 1 (failed) or 4 (refunded). Read TxStatus for which.
	ClassFinal
	// ClassPending: tx_status 2 (awaited/initiated) or 5 (hold); inquire again later.
	ClassPending
	// ClassReversalPending: tx_status 3, a refund is under way; inquire again later.
	ClassReversalPending
	// ClassNotFound: Eko has no such transaction: no tx_status, status 1 and response_status_id
	// 463, Eko's documented "transaction not found". Any other error reply, -1 included (seen
	// for "not found" in some integrations and as a generic code elsewhere), is an *Error
	// (KindEkoError), retried: it cannot prove that no money moved.
	ClassNotFound
	// ClassSuspicious: a tx_status Eko does not document (or none with status 0); per Eko,
	// contact them. Never treat as success or failure automatically.
	ClassSuspicious
)

func (c Class) String() string {
	switch c {
	case ClassFinal:
		return "final"
	case ClassPending:
		return "pending"
	case ClassReversalPending:
		return "reversal_pending"
	case ClassNotFound:
		return "not_found"
	case ClassSuspicious:
		return "suspicious"
	default:
		return "Class(" + strconv.Itoa(int(c)) + ")"
	}
}

// Result is Eko's answer to an inquiry. Every value is the exact text Eko sent, string or number
// alike: tx_status "0" and 0 both read "0", and an amount of 2000.00 stays "2000.00". Codes are
// not re-spelt beyond that (a tx_status of 0.0 or " 0" stays as sent, and so is suspicious),
// because guessing at an undocumented form could turn it into a money decision. Empty means absent.
type Result struct {
	Class            Class
	TxStatus         string // data.tx_status
	TxStatusDesc     string // data.txstatus_desc
	TID              string // Eko's transaction id
	ClientRefID      string
	Amount           string
	BankRefNum       string
	Message          string // envelope message: for people, never for decisions
	Status           string // envelope status; "0" does not mean success, read TxStatus
	ResponseStatusID string
	HTTPStatus       int
	Raw              json.RawMessage // the body verbatim, for the audit trail; redact before storing
}

// scalar is a JSON string or number kept as its exact text; null counts as absent.
type scalar struct {
	v   string
	set bool
}

func (s *scalar) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // keep the literal: 2000.00 must not become 2000
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	switch v := v.(type) {
	case nil:
		*s = scalar{}
	case string:
		*s = scalar{v: v, set: true}
	case json.Number:
		*s = scalar{v: v.String(), set: true}
	default:
		return fmt.Errorf("want a string or number, got %T", v)
	}
	return nil
}

type envelope struct {
	Status           scalar          `json:"status"`
	Message          scalar          `json:"message"`
	ResponseStatusID scalar          `json:"response_status_id"`
	Data             json.RawMessage `json:"data"`
}

type txData struct {
	TxStatus     scalar `json:"tx_status"`
	TxStatusDesc scalar `json:"txstatus_desc"`
	TID          scalar `json:"tid"`
	ClientRefID  scalar `json:"client_ref_id"`
	Amount       scalar `json:"amount"`
	BankRefNum   scalar `json:"bank_ref_num"`
}

// decodeStrict decodes exactly one JSON value from b into v, keeping numbers as json.Number.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}

func decodeEnvelope(body []byte) (envelope, error) {
	var env envelope
	err := decodeStrict(body, &env)
	return env, err
}

// parse reads Eko's envelope and classifies it. Anything that is not recognisably the envelope
// is an error, so a half-understood body can never become a decision.
func parse(body []byte) (Result, error) {
	env, err := decodeEnvelope(body)
	if err != nil {
		return Result{}, fmt.Errorf("decode response: %w", err)
	}
	if !env.Status.set || env.Status.v == "" {
		return Result{}, errors.New("decode response: no status, not Eko's envelope")
	}
	var d txData
	switch data := bytes.TrimSpace(env.Data); {
	case len(data) == 0, string(data) == "null", string(data) == "[]", string(data) == `""`:
		// No data. PHP back ends encode an empty map as [].
	case data[0] == '{':
		if err := decodeStrict(data, &d); err != nil {
			return Result{}, fmt.Errorf("decode response data: %w", err)
		}
	default:
		return Result{}, errors.New("decode response: data is neither an object nor empty")
	}
	r := Result{
		TxStatus:         d.TxStatus.v,
		TxStatusDesc:     d.TxStatusDesc.v,
		TID:              d.TID.v,
		ClientRefID:      d.ClientRefID.v,
		Amount:           d.Amount.v,
		BankRefNum:       d.BankRefNum.v,
		Message:          env.Message.v,
		Status:           env.Status.v,
		ResponseStatusID: env.ResponseStatusID.v,
		Raw:              json.RawMessage(body),
	}
	if r.Class, err = classify(r.Status, r.ResponseStatusID, r.TxStatus); err != nil {
		return Result{}, err
	}
	return r, nil
}

// errorReply is Eko's envelope reporting that the inquiry itself failed (wrong user_code, agent
// not onboarded, ...). It says nothing about the transaction, so it must not count as "not found":
// after the not-found grace that would end the transaction expired when money may have moved.
type errorReply struct{ status, responseStatusID string }

func (e *errorReply) Error() string {
	return fmt.Sprintf("Eko answered with an error, not a transaction state (eko status %s, response_status_id %s)",
		e.status, orNone(e.responseStatusID))
}

// classify decides on numbers only; Eko's message text is not stable. A non-zero status without
// a tx_status is an *errorReply unless it is a documented not-found reply.
func classify(status, responseStatusID, txStatus string) (Class, error) {
	if txStatus == "" {
		if status == "1" && responseStatusID == "463" {
			return ClassNotFound, nil
		}
		if n, err := strconv.ParseInt(status, 10, 64); err == nil && n != 0 {
			return 0, &errorReply{status: status, responseStatusID: responseStatusID}
		}
		return ClassSuspicious, nil // "OK" (or a non-numeric status) without a transaction state
	}
	switch txStatus {
	case TxSuccess, TxFailed, TxRefunded:
		return ClassFinal, nil
	case TxAwaited, TxHold:
		return ClassPending, nil
	case TxRefundPending:
		return ClassReversalPending, nil
	default:
		return ClassSuspicious, nil
	}
}
