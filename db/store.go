package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/aepsflow/aepsflow/txstate"
)

// Store reads and writes aepsflow's tables. It is safe for concurrent use.
type Store struct {
	db *sqlx.DB
}

// Open connects to PostgreSQL and checks the connection.
func Open(ctx context.Context, url string) (*Store, error) {
	db, err := sqlx.Open("postgres", withBinaryParameters(url))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	db.SetConnMaxIdleTime(5 * time.Minute)
	// Bounded lifetime: after a PostgreSQL restart stale connections leave the pool soon.
	db.SetConnMaxLifetime(30 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return &Store{db: db}, nil
}

// withBinaryParameters turns on lib/pq's binary_parameters unless the URL sets it: each
// parameterised statement then takes one round trip instead of two (measured +20% debit-hooks
// per second). It requires jsonb arguments to be passed as strings, never []byte.
func withBinaryParameters(url string) string {
	if strings.Contains(url, "binary_parameters") {
		return url
	}
	if strings.Contains(url, "://") {
		sep := "?"
		if strings.Contains(url, "?") {
			sep = "&"
		}
		return url + sep + "binary_parameters=yes"
	}
	return strings.TrimSpace(url) + " binary_parameters=yes"
}

// DB exposes the pool for migrations and health checks.
func (s *Store) DB() *sqlx.DB { return s.db }

// Close closes the pool.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks that PostgreSQL answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// inTx runs fn in a transaction, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// inTxRetry is inTx for writes that can lose a race on a unique constraint: the retry sees the
// winner's row and takes the repeat path.
func (s *Store) inTxRetry(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = s.inTx(ctx, fn); !isUniqueViolation(err) {
			return err
		}
	}
	return err
}

// txValue runs fn in a retrying transaction (inTxRetry) and returns its value.
func txValue[T any](ctx context.Context, s *Store, fn func(tx *sqlx.Tx) (T, error)) (T, error) {
	var v T
	err := s.inTxRetry(ctx, func(tx *sqlx.Tx) error {
		var e error
		v, e = fn(tx)
		return e
	})
	return v, err
}

// isUniqueViolation reports a unique-constraint conflict, optionally on a named constraint.
func isUniqueViolation(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "23505"
}

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// Inbound is one request as received on a callback endpoint.
type Inbound struct {
	Source        string
	Method        string
	Path          string
	RemoteAddr    string
	Headers       map[string]string
	Body          []byte // already redacted
	BodySize      int64
	BodyTruncated bool
	BodyRedacted  bool
	Action        string
	Reference     string
	TransactionID sql.NullInt64
	Outcome       string
	OutcomeDetail string
	HTTPStatus    int
}

type queryer interface {
	QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row
}

func insertInbound(ctx context.Context, q queryer, in Inbound) (int64, error) {
	args, err := inboundArgs(in)
	if err != nil {
		return 0, err
	}
	var id int64
	if err := q.QueryRowxContext(ctx, `INSERT INTO inbound_requests `+inboundColumns+` VALUES `+placeholders(1, len(args))+` RETURNING id`,
		args...).Scan(&id); err != nil {
		return 0, fmt.Errorf("store inbound request: %w", err)
	}
	return id, nil
}

const inboundColumns = `(source, method, path, remote_addr, headers, body, body_size,
	body_truncated, body_redacted, action, reference, transaction_id, outcome, outcome_detail, http_status)`

// inboundArgs are an inbound request's values, in inboundColumns' order.
func inboundArgs(in Inbound) ([]any, error) {
	encoded, err := json.Marshal(in.Headers)
	if err != nil {
		return nil, fmt.Errorf("encode headers: %w", err)
	}
	headers, err := storableJSON(encoded)
	if err != nil {
		return nil, fmt.Errorf("encode headers: %w", err)
	}
	if in.Body == nil {
		in.Body = []byte{}
	}
	// Any of these may carry request text; the body keeps the exact bytes.
	return []any{storable(in.Source), storable(in.Method), storable(in.Path), storable(in.RemoteAddr), headers, in.Body,
		in.BodySize, in.BodyTruncated, in.BodyRedacted, storable(in.Action), storableKey(in.Reference), in.TransactionID,
		storable(in.Outcome), storable(in.OutcomeDetail), in.HTTPStatus}, nil
}

// placeholders is "($from,...,$from+n-1)".
func placeholders(from, n int) string {
	var b strings.Builder
	b.WriteByte('(')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(from + i))
	}
	b.WriteByte(')')
	return b.String()
}

// RecordInbound stores a request that needs no other write (invalid, unauthorised, too large).
func (s *Store) RecordInbound(ctx context.Context, in Inbound) (int64, error) {
	return insertInbound(ctx, s.db, in)
}

// OutboxEntry is something that must reach Temporal.
type OutboxEntry struct {
	Kind       string // start | signal
	WorkflowID string
	SignalName string
	Payload    []byte
	DedupeKey  string
	// Defer holds the entry back from the relay this long after it is committed.
	Defer time.Duration
	// StartsWorkflow: the entry is delivered with SignalWithStart, which starts its workflow if
	// need be. A start of the same workflow still waiting (deferred, or Temporal away) is then
	// superseded: it is settled without a call, and the workflow started once, by this entry.
	StartsWorkflow bool
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func insertOutbox(ctx context.Context, q execer, e OutboxEntry) error {
	args, err := outboxArgs(e)
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, outboxInsert(e, 1), args...); err != nil {
		return fmt.Errorf("queue %s for %s: %w", e.Kind, e.WorkflowID, err)
	}
	return nil
}

// outboxInsert is the statement that queues e, with its values from $from on (outboxArgs). An
// entry that starts its workflow settles the workflow's waiting start in the same statement.
// A start the relay is delivering right now is locked and skipped: it goes to Temporal, and this
// entry after it, in order.
func outboxInsert(e OutboxEntry, from int) string {
	p := func(i int) string { return "$" + strconv.Itoa(from+i) }
	insert := `INSERT INTO outbox (kind, workflow_id, signal_name, payload, dedupe_key, available_at)
		VALUES (` + p(0) + `,` + p(1) + `,` + p(2) + `,` + p(3) + `,` + p(4) + `, now() + ` + p(5) + ` * interval '1 millisecond')` + outboxConflict
	if !e.StartsWorkflow {
		return insert
	}
	return `WITH superseded AS (UPDATE outbox SET delivered_at = clock_timestamp(),
			delivery_note = 'superseded: the workflow is started by a later SignalWithStart'
		WHERE id IN (SELECT id FROM outbox WHERE workflow_id = ` + p(1) + ` AND kind = 'start' AND delivered_at IS NULL
			FOR UPDATE SKIP LOCKED))
		` + insert
}

const outboxConflict = ` ON CONFLICT (dedupe_key) DO NOTHING`

// outboxArgs are an outbox entry's values, in outboxColumns' order.
func outboxArgs(e OutboxEntry) ([]any, error) {
	// A signal's payload carries request text (tx_status, the partner's status), masked by the
	// API that built it; validJSON keeps the references exact.
	payload, err := validJSON(e.Payload)
	if err != nil {
		return nil, fmt.Errorf("queue %s for %s: %w", e.Kind, e.WorkflowID, err)
	}
	return []any{e.Kind, e.WorkflowID, e.SignalName, payload, e.DedupeKey, e.Defer.Milliseconds()}, nil
}

// Event is one entry of a transaction's history.
type Event struct {
	TransactionID int64
	Kind          string
	From, To      txstate.State
	Detail        map[string]string
	DedupeKey     string
}

func insertEvent(ctx context.Context, q queryer, e Event) (inserted bool, err error) {
	args, err := eventArgs(e)
	if err != nil {
		return false, err
	}
	var id int64
	err = q.QueryRowxContext(ctx, `INSERT INTO tx_events `+eventColumns+` VALUES `+placeholders(1, len(args))+eventConflict+` RETURNING id`,
		args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("append %s event: %w", e.Kind, err)
	}
	return true, nil
}

const (
	eventColumns  = `(transaction_id, kind, from_state, to_state, detail, dedupe_key)`
	eventConflict = ` ON CONFLICT (transaction_id, dedupe_key) DO NOTHING`
)

// eventArgs are an event's values, in eventColumns' order.
func eventArgs(e Event) ([]any, error) {
	encoded, err := json.Marshal(e.Detail)
	if err != nil {
		return nil, fmt.Errorf("encode event detail: %w", err)
	}
	if e.Detail == nil {
		encoded = []byte("{}")
	}
	// Details quote request text (message, tid, status_desc, ...).
	detail, err := storableJSON(encoded)
	if err != nil {
		return nil, fmt.Errorf("encode event detail: %w", err)
	}
	return []any{e.TransactionID, e.Kind, e.From, e.To, detail, e.DedupeKey}, nil
}
