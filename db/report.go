package db

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// DayGroup is one (agent, type, state) group of a day's transactions. State is the final state
// reached before the cut-off, or "open".
type DayGroup struct {
	Agent      string          `db:"agent"`
	TxType     string          `db:"tx_type"`
	State      string          `db:"st"`
	Count      int             `db:"n"`
	Amount     decimal.Decimal `db:"amount"`
	Commission decimal.Decimal `db:"commission"`
	TDS        decimal.Decimal `db:"tds"`
}

// AgentSum is a count and an amount for one agent.
type AgentSum struct {
	Agent  string          `db:"agent"`
	Count  int             `db:"n"`
	Amount decimal.Decimal `db:"amount"`
}

// DayFinal is a transaction of the day that became final after the cut-off.
type DayFinal struct {
	ClientRefID string              `db:"client_ref_id"`
	Provider    string              `db:"provider"`
	Agent       string              `db:"agent"`
	TxType      string              `db:"tx_type"`
	Amount      decimal.NullDecimal `db:"amount"`
	State       string              `db:"state"`
	CreatedAt   time.Time           `db:"created_at"`
	FinalAt     time.Time           `db:"final_at"`
}

// DayFigures are the raw figures of one business day, as of cutoff: only what had become final
// before cutoff counts as final, so the figures of a closed day never change.
type DayFigures struct {
	Groups     []DayGroup
	Reversals  []AgentSum // cash withdrawals of any day that became reversed in [dayStart, cutoff)
	LateFinals []DayFinal // the day's transactions that became final at or after cutoff
}

// DailyFigures reads the figures of business day day (its first instant dayStart) as of cutoff.
func (s *Store) DailyFigures(ctx context.Context, day string, dayStart, cutoff time.Time) (DayFigures, error) {
	var f DayFigures
	err := s.db.SelectContext(ctx, &f.Groups, `
		SELECT coalesce(agent_user_code, '') AS agent, tx_type,
			CASE WHEN final_at IS NOT NULL AND final_at < $2 THEN state ELSE 'open' END AS st,
			count(*) AS n, coalesce(sum(amount), 0) AS amount,
			coalesce(sum(commission), 0) AS commission, coalesce(sum(tds), 0) AS tds
		FROM tx_finance WHERE business_day = $1::date
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, day, cutoff)
	if err != nil {
		return f, fmt.Errorf("sum the day's transactions: %w", err)
	}
	err = s.db.SelectContext(ctx, &f.Reversals, `
		SELECT coalesce(agent_user_code, '') AS agent, count(*) AS n, coalesce(sum(amount), 0) AS amount
		FROM transactions WHERE tx_type = 'cash_withdrawal' AND state = 'reversed' AND final_at >= $1 AND final_at < $2
		GROUP BY 1 ORDER BY 1`, dayStart, cutoff)
	if err != nil {
		return f, fmt.Errorf("sum the day's reversals: %w", err)
	}
	err = s.db.SelectContext(ctx, &f.LateFinals, `
		SELECT client_ref_id, provider, coalesce(agent_user_code, '') AS agent, tx_type, amount, state, created_at, final_at
		FROM transactions WHERE business_day = $1::date AND final_at >= $2
		ORDER BY final_at, id`, day, cutoff)
	if err != nil {
		return f, fmt.Errorf("list the day's late finals: %w", err)
	}
	return f, nil
}
