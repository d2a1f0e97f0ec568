package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Audit is one admin action, written in the same database transaction as the change it records.
type Audit struct {
	Operator      string // the name configured beside the token, or "cli"
	Action        string // agent_change | resolve | resend | ...
	Target        string // agent user_code, workflow ID, ...
	TransactionID sql.NullInt64
	Detail        map[string]any
}

// AuditEvent is a stored Audit.
type AuditEvent struct {
	ID            int64           `db:"id" json:"id"`
	At            time.Time       `db:"at" json:"at"`
	Operator      string          `db:"operator" json:"operator"`
	Action        string          `db:"action" json:"action"`
	Target        string          `db:"target" json:"target"`
	TransactionID sql.NullInt64   `db:"transaction_id" json:"-"`
	Detail        json.RawMessage `db:"detail" json:"detail"`
}

// InsertAudit records an admin action within a transaction of the caller.
func insertAudit(ctx context.Context, q execer, a Audit) error {
	if a.Operator == "" {
		return fmt.Errorf("audit %s of %s: no operator", a.Action, a.Target)
	}
	encoded, err := json.Marshal(a.Detail)
	if err != nil {
		return fmt.Errorf("encode audit detail: %w", err)
	}
	if a.Detail == nil {
		encoded = []byte("{}")
	}
	// Details may quote request text (a reason, a name).
	detail, err := storableJSON(encoded)
	if err != nil {
		return fmt.Errorf("encode audit detail: %w", err)
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO audit_events (operator, action, target, transaction_id, detail)
		VALUES ($1, $2, $3, $4, $5)`, a.Operator, a.Action, storable(a.Target), a.TransactionID, detail); err != nil {
		return fmt.Errorf("record audit event %s: %w", a.Action, err)
	}
	return nil
}

// RecordAudit records an admin action that is not itself one database write (a re-send that
// calls the platform): the caller records it before acting, so that nothing is done unrecorded.
func (s *Store) RecordAudit(ctx context.Context, a Audit) error { return insertAudit(ctx, s.db, a) }

// AuditQuery filters the audit log; empty fields match everything.
type AuditQuery struct {
	Operator, Action, Target string
	BeforeID                 int64 // page backwards: only events with a smaller ID
	Limit                    int   // default 100, at most 1000
}

// AuditLog returns audit events, newest first.
func (s *Store) AuditLog(ctx context.Context, q AuditQuery) ([]AuditEvent, error) {
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 100
	}
	out := []AuditEvent{}
	err := s.db.SelectContext(ctx, &out, `SELECT id, at, operator, action, target, transaction_id, detail
		FROM audit_events
		WHERE ($1 = '' OR operator = $1) AND ($2 = '' OR action = $2) AND ($3 = '' OR target = $3)
		  AND ($4 = 0 OR id < $4)
		ORDER BY id DESC LIMIT $5`, q.Operator, q.Action, q.Target, q.BeforeID, q.Limit)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}

// UpsertAgentAudited is UpsertAgent with the change recorded as an audit event, both in one
// transaction: a change is never made without its record, nor recorded without being made.
func (s *Store) UpsertAgentAudited(ctx context.Context, u AgentUpdate, operator string) (Agent, error) {
	return txValue(ctx, s, func(tx *sqlx.Tx) (Agent, error) {
		var before *Agent
		var b Agent
		switch err := tx.GetContext(ctx, &b, `SELECT * FROM agents WHERE user_code = $1 FOR UPDATE`, u.UserCode); {
		case err == nil:
			before = &b
		case err != sql.ErrNoRows:
			return Agent{}, fmt.Errorf("get agent %s: %w", u.UserCode, err)
		}
		a, err := upsertAgent(ctx, tx, u)
		if err != nil {
			return Agent{}, err
		}
		detail := map[string]any{"after": agentAudit(a)}
		if before != nil {
			detail["before"] = agentAudit(*before)
		}
		return a, insertAudit(ctx, tx, Audit{Operator: operator, Action: "agent_change", Target: a.UserCode, Detail: detail})
	})
}

func agentAudit(a Agent) map[string]any {
	m := map[string]any{"name": a.Name, "status": a.Status, "daily_cash_count_limit": nil, "daily_cash_amount_limit": nil}
	if a.DailyCashCountLimit.Valid {
		m["daily_cash_count_limit"] = a.DailyCashCountLimit.Int64
	}
	if a.DailyCashAmountLimit.Valid {
		m["daily_cash_amount_limit"] = a.DailyCashAmountLimit.Decimal.StringFixed(2)
	}
	return m
}
