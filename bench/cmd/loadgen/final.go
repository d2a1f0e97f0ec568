package main

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// rowKey is a transaction's key in PostgreSQL.
type rowKey struct{ provider, ref string }

func (b *bench) partnerProvider() string { return "partner:" + b.o.partnerClient }

// expectedRows lists the transactions that must exist, with the final state each must reach.
func (b *bench) expectedRows(ps []*partnerTx, lists ...[]*ekoTx) map[rowKey]string {
	want := map[rowKey]string{}
	for _, tx := range slices.Concat(lists...) {
		if !tx.allowed {
			continue
		}
		st := "success" // 0 verified by inquiry, 2 resolved by inquiry (the simulator says 0)
		if tx.respOK && tx.txStatus == "1" {
			st = "failed"
		}
		if !tx.respOK {
			st = "" // no eko-response recorded: any state
		}
		want[rowKey{"eko", tx.ref}] = st
	}
	for _, p := range ps {
		if p.firstSent.IsZero() {
			continue
		}
		st := "success"
		if p.status != "SUCCESS" {
			st = "failed"
		}
		want[rowKey{b.partnerProvider(), p.ref}] = st
	}
	return want
}

// waitFinal polls PostgreSQL until every expected transaction (with a known outcome) is in a
// final state.
func (b *bench) waitFinal(ctx context.Context, want map[rowKey]string) error {
	need := 0
	for _, st := range want {
		if st != "" {
			need++
		}
	}
	deadline := time.Now().Add(b.o.finalTimeout)
	lastLog := time.Now()
	for {
		final, err := b.finalCount(ctx, want)
		if err != nil {
			b.logf("waiting for final states: %v", err)
		} else if final >= need {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d transactions reached a final state within %s", final, need, b.o.finalTimeout)
		}
		if time.Since(lastLog) > 10*time.Second {
			var backlog int
			_ = b.db.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE delivered_at IS NULL`).Scan(&backlog)
			b.logf("  %d/%d final, outbox backlog %d", final, need, backlog)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// finalCount counts the expected transactions (with a known outcome) that are final.
func (b *bench) finalCount(ctx context.Context, want map[rowKey]string) (int, error) {
	rows, err := b.db.QueryContext(ctx, `SELECT provider, client_ref_id FROM transactions WHERE final_at IS NOT NULL`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var k rowKey
		if err := rows.Scan(&k.provider, &k.ref); err != nil {
			return 0, err
		}
		if want[k] != "" {
			n++
		}
	}
	return n, rows.Err()
}

// timeToFinal measures, from PostgreSQL's final_at, how long after its eko-response (or first
// partner delivery) each transaction of the main phase became final.
func (b *bench) timeToFinal(ctx context.Context, main []*ekoTx, ps []*partnerTx) (Summary, Summary, error) {
	rows, err := b.db.QueryContext(ctx, `SELECT provider, client_ref_id, final_at FROM transactions WHERE final_at IS NOT NULL`)
	if err != nil {
		return Summary{}, Summary{}, fmt.Errorf("read final_at: %w", err)
	}
	defer rows.Close()
	finals := map[rowKey]time.Time{}
	for rows.Next() {
		var k rowKey
		var at time.Time
		if err := rows.Scan(&k.provider, &k.ref, &at); err != nil {
			return Summary{}, Summary{}, err
		}
		finals[k] = at
	}
	if err := rows.Err(); err != nil {
		return Summary{}, Summary{}, err
	}
	eko, partner := newRecorder("eko-response → final state"), newRecorder("partner callback → final state")
	for _, tx := range main {
		if at, ok := finals[rowKey{"eko", tx.ref}]; ok && tx.respOK {
			eko.addDuration(at.Sub(tx.respSent))
		}
	}
	for _, p := range ps {
		if at, ok := finals[rowKey{b.partnerProvider(), p.ref}]; ok && !p.firstSent.IsZero() {
			partner.addDuration(at.Sub(p.firstSent))
		}
	}
	return eko.summary(), partner.summary(), nil
}
