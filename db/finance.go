package db

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/aepsflow/aepsflow/txstate"
)

// FinanceRow is one transaction as finance reads it (view tx_finance).
type FinanceRow struct {
	ID            int64               `db:"id"`
	Provider      string              `db:"provider"`
	ClientRefID   string              `db:"client_ref_id"`
	ProviderRef   string              `db:"provider_ref"`
	WorkflowID    string              `db:"workflow_id"`
	TxType        string              `db:"tx_type"`
	AgentUserCode sql.NullString      `db:"agent_user_code"`
	Amount        decimal.NullDecimal `db:"amount"`
	Commission    decimal.NullDecimal `db:"commission"`
	TDS           decimal.NullDecimal `db:"tds"`
	TID           string              `db:"tid"`
	BankRefNum    string              `db:"bank_ref_num"`
	State         txstate.State       `db:"state"`
	StateReason   string              `db:"state_reason"`
	Flagged       bool                `db:"flagged"`
	FlagReason    string              `db:"flag_reason"`
	BusinessDay   time.Time           `db:"business_day"`
	CreatedAt     time.Time           `db:"created_at"`
	UpdatedAt     time.Time           `db:"updated_at"`
	FinalAt       sql.NullTime        `db:"final_at"`
}

const financeColumns = `id, provider, client_ref_id, provider_ref, workflow_id, tx_type, agent_user_code, amount,
	commission, tds, tid, bank_ref_num, state, state_reason, flagged, flag_reason, business_day, created_at,
	updated_at, final_at`

// Cursor is a position in the list's order (created_at, id): the next page starts after it.
type Cursor struct {
	CreatedAt time.Time
	ID        int64
}

// Encode makes the cursor opaque to clients (they must not build one).
func (c Cursor) Encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreatedAt.UnixMicro(), 10) + "." + strconv.FormatInt(c.ID, 10)))
}

// ErrBadCursor is returned for a cursor this service did not issue.
var ErrBadCursor = errors.New("invalid cursor")

// DecodeCursor reads a cursor made by Encode.
func DecodeCursor(s string) (Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, ErrBadCursor
	}
	us, id, ok := strings.Cut(string(b), ".")
	if !ok {
		return Cursor{}, ErrBadCursor
	}
	u, err1 := strconv.ParseInt(us, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || n <= 0 {
		return Cursor{}, ErrBadCursor
	}
	return Cursor{CreatedAt: time.UnixMicro(u).UTC(), ID: n}, nil
}

// ListFilter selects transactions for the list and the export. Zero values do not filter.
type ListFilter struct {
	From, To time.Time // created_at in [From, To)
	Agent    string
	State    txstate.State
	Type     string
	Provider string
	Flagged  *bool
	After    *Cursor
	Limit    int // 0: no limit (the export)
}

func (f ListFilter) where() (string, []any) {
	var conds []string
	var args []any
	// add appends a condition whose '?' placeholders take v, numbered after the earlier ones.
	add := func(cond string, v ...any) {
		for _, x := range v {
			args = append(args, x)
			cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1)
		}
		conds = append(conds, cond)
	}
	if !f.From.IsZero() {
		add("created_at >= ?", f.From)
	}
	if !f.To.IsZero() {
		add("created_at < ?", f.To)
	}
	if f.Agent != "" {
		add("agent_user_code = ?", f.Agent)
	}
	if f.State != "" {
		add("state = ?", f.State)
	}
	if f.Type != "" {
		add("tx_type = ?", f.Type)
	}
	if f.Provider != "" {
		add("provider = ?", f.Provider)
	}
	if f.Flagged != nil {
		add("flagged = ?", *f.Flagged)
	}
	if f.After != nil {
		add("(created_at, id) > (?, ?)", f.After.CreatedAt, f.After.ID)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// StreamTransactions calls fn for each transaction matching f, in (created_at, id) order, as rows
// arrive from PostgreSQL: nothing is collected, so an export of any size holds one row at a time.
// fn's error stops the walk and is returned.
func (s *Store) StreamTransactions(ctx context.Context, f ListFilter, fn func(FinanceRow) error) error {
	where, args := f.where()
	q := `SELECT ` + financeColumns + ` FROM tx_finance` + where + ` ORDER BY created_at, id`
	if f.Limit > 0 {
		args = append(args, f.Limit)
		q += ` LIMIT $` + strconv.Itoa(len(args))
	}
	rows, err := s.db.QueryxContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("list transactions: %w", err)
	}
	defer rows.Close()
	var r FinanceRow
	for rows.Next() {
		r = FinanceRow{}
		if err := rows.StructScan(&r); err != nil {
			return fmt.Errorf("read transaction row: %w", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list transactions: %w", err)
	}
	return nil
}

// FinanceByWorkflowID returns one transaction's finance row or ErrNotFound.
func (s *Store) FinanceByWorkflowID(ctx context.Context, workflowID string) (FinanceRow, error) {
	return financeBy(ctx, s.db, `workflow_id = $1`, workflowID)
}

func financeBy(ctx context.Context, q sqlx.QueryerContext, cond string, args ...any) (FinanceRow, error) {
	var r FinanceRow
	err := sqlx.GetContext(ctx, q, &r, `SELECT `+financeColumns+` FROM tx_finance WHERE `+cond, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return FinanceRow{}, ErrNotFound
	}
	if err != nil {
		return FinanceRow{}, fmt.Errorf("read transaction: %w", err)
	}
	return r, nil
}
