package db

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// OpenTransactions returns transactions not final and created before createdBefore, oldest first.
func (s *Store) OpenTransactions(ctx context.Context, createdBefore time.Time, limit int) ([]FinanceRow, error) {
	var out []FinanceRow
	err := s.db.SelectContext(ctx, &out, `SELECT `+financeColumns+` FROM tx_finance
		WHERE final_at IS NULL AND created_at < $1 ORDER BY id LIMIT $2`, createdBefore, limit)
	if err != nil {
		return nil, fmt.Errorf("list open transactions: %w", err)
	}
	return out, nil
}

// SuccessfulWithdrawals returns a sample of the day's successful Eko cash withdrawals (those the
// Inquiry API can check): every one when count and percent are 0, else count of them or percent
// of them, picked by a hash of the reference so that a re-run checks the same ones.
func (s *Store) SuccessfulWithdrawals(ctx context.Context, day string, count int, percent float64) (total int, sample []FinanceRow, err error) {
	const where = ` FROM tx_finance WHERE business_day = $1::date AND provider = 'eko' AND tx_type = 'cash_withdrawal' AND state = 'success'`
	if err := s.db.GetContext(ctx, &total, `SELECT count(*)`+where, day); err != nil {
		return 0, nil, fmt.Errorf("count the day's successes: %w", err)
	}
	q, args := `SELECT `+financeColumns+where+` ORDER BY id`, []any{day}
	switch {
	case count > 0:
		q, args = `SELECT `+financeColumns+where+` ORDER BY md5(client_ref_id), id LIMIT $2`, []any{day, count}
	case percent > 0:
		q, args = `SELECT `+financeColumns+where+` AND (hashtext(client_ref_id)::bigint & 2147483647) % 10000 < $2 ORDER BY id`,
			[]any{day, int(percent * 100)}
	}
	if err := s.db.SelectContext(ctx, &sample, q, args...); err != nil {
		return 0, nil, fmt.Errorf("sample the day's successes: %w", err)
	}
	return total, sample, nil
}

// Reconciliation is one reconciliation run's record.
type Reconciliation struct {
	ID           int64           `db:"id" json:"id"`
	BusinessDay  string          `db:"business_day" json:"date"`
	WorkflowID   string          `db:"workflow_id" json:"workflow_id"`
	RunID        string          `db:"run_id" json:"run_id"`
	StartedAt    time.Time       `db:"started_at" json:"started_at"`
	FinishedAt   time.Time       `db:"finished_at" json:"finished_at"`
	OpenChecked  int             `db:"open_checked" json:"open_checked"`
	Restarted    int             `db:"restarted" json:"restarted"`
	SuccessTotal int             `db:"success_total" json:"success_total"`
	Sampled      int             `db:"sampled" json:"sampled"`
	Mismatches   int             `db:"mismatches" json:"mismatches"`
	Detail       json.RawMessage `db:"detail" json:"detail"`
}

// SaveReconciliation stores a run's record once (a retry returns the first one's id).
func (s *Store) SaveReconciliation(ctx context.Context, r Reconciliation) (int64, error) {
	detail, err := validJSON(r.Detail)
	if err != nil {
		return 0, fmt.Errorf("reconciliation detail: %w", err)
	}
	var id int64
	err = s.db.GetContext(ctx, &id, `INSERT INTO reconciliations (business_day, workflow_id, run_id, started_at,
		open_checked, restarted, success_total, sampled, mismatches, detail)
		VALUES ($1::date,$2,$3,$4,$5,$6,$7,$8,$9,$10)
		ON CONFLICT (run_id) DO UPDATE SET run_id = EXCLUDED.run_id RETURNING id`,
		r.BusinessDay, r.WorkflowID, r.RunID, r.StartedAt, r.OpenChecked, r.Restarted, r.SuccessTotal, r.Sampled,
		r.Mismatches, detail)
	if err != nil {
		return 0, fmt.Errorf("save reconciliation: %w", err)
	}
	return id, nil
}

// LatestReconciliationMismatches is the mismatch count of the latest run (-1 when none ran).
func (s *Store) LatestReconciliationMismatches(ctx context.Context) (int, error) {
	var n []int
	if err := s.db.SelectContext(ctx, &n, `SELECT mismatches FROM reconciliations ORDER BY finished_at DESC, id DESC LIMIT 1`); err != nil {
		return -1, fmt.Errorf("read the latest reconciliation: %w", err)
	}
	if len(n) == 0 {
		return -1, nil
	}
	return n[0], nil
}
