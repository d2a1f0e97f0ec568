package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// Agent is a registered bank correspondent.
type Agent struct {
	UserCode             string              `db:"user_code" json:"user_code"`
	Name                 string              `db:"name" json:"name"`
	Status               string              `db:"status" json:"status"`
	DailyCashCountLimit  sql.NullInt64       `db:"daily_cash_count_limit" json:"-"`
	DailyCashAmountLimit decimal.NullDecimal `db:"daily_cash_amount_limit" json:"-"`
	CreatedAt            time.Time           `db:"created_at" json:"created_at"`
	UpdatedAt            time.Time           `db:"updated_at" json:"updated_at"`
}

// AgentUpdate changes an agent; nil fields are left as they are. ClearLimits restores the
// configured defaults.
type AgentUpdate struct {
	UserCode    string
	Name        *string
	Status      *string
	CountLimit  *int
	AmountLimit *decimal.Decimal
	ClearLimits bool
}

// UpsertAgent registers the agent if new (active by default) and applies the update. An
// operator's change goes through UpsertAgentAudited instead.
func (s *Store) UpsertAgent(ctx context.Context, u AgentUpdate) (Agent, error) {
	return upsertAgent(ctx, s.db, u)
}

type getter interface {
	GetContext(ctx context.Context, dest any, query string, args ...any) error
}

func upsertAgent(ctx context.Context, q getter, u AgentUpdate) (Agent, error) {
	if u.Status != nil && *u.Status != "active" && *u.Status != "suspended" {
		return Agent{}, fmt.Errorf("status must be active or suspended, got %q", *u.Status)
	}
	var count sql.NullInt64
	if u.CountLimit != nil {
		count = sql.NullInt64{Int64: int64(*u.CountLimit), Valid: true}
	}
	var amount decimal.NullDecimal
	if u.AmountLimit != nil {
		amount = decimal.NullDecimal{Decimal: *u.AmountLimit, Valid: true}
	}
	var a Agent
	err := q.GetContext(ctx, &a, `
		INSERT INTO agents (user_code, name, status, daily_cash_count_limit, daily_cash_amount_limit)
		VALUES ($1, coalesce($2, ''), coalesce($3, 'active'), $4, $5)
		ON CONFLICT (user_code) DO UPDATE SET
			name = coalesce($2, agents.name),
			status = coalesce($3, agents.status),
			daily_cash_count_limit = CASE WHEN $6 THEN NULL ELSE coalesce($4, agents.daily_cash_count_limit) END,
			daily_cash_amount_limit = CASE WHEN $6 THEN NULL ELSE coalesce($5, agents.daily_cash_amount_limit) END,
			updated_at = now()
		RETURNING *`, u.UserCode, u.Name, u.Status, count, amount, u.ClearLimits)
	if err != nil {
		return Agent{}, fmt.Errorf("save agent %s: %w", u.UserCode, err)
	}
	return a, nil
}

// GetAgent returns one agent or ErrNotFound.
func (s *Store) GetAgent(ctx context.Context, userCode string) (Agent, error) {
	var a Agent
	err := s.db.GetContext(ctx, &a, `SELECT * FROM agents WHERE user_code = $1`, userCode)
	if errors.Is(err, sql.ErrNoRows) {
		return Agent{}, ErrNotFound
	}
	if err != nil {
		return Agent{}, fmt.Errorf("get agent %s: %w", userCode, err)
	}
	return a, nil
}
