package db

import (
	"context"
	"fmt"
	"time"
)

// PruneDeliveredOutbox deletes at most limit outbox entries delivered more than age ago whose
// transaction is closed (final). Entries of open transactions stay, whatever their age, and so do
// entries set aside as undeliverable or not delivered for want of a running workflow (their
// transaction is flagged; an operator may need them) and entries never delivered. SKIP LOCKED: replicas pruning at once, or the relay holding an
// entry, never wait on each other.
func (s *Store) PruneDeliveredOutbox(ctx context.Context, age time.Duration, limit int) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM outbox WHERE id IN (
		SELECT o.id FROM outbox o
		WHERE o.delivered_at < now() - make_interval(secs => $1)
		  AND o.delivery_note NOT LIKE 'undeliverable%' AND o.delivery_note NOT LIKE 'not delivered%'
		  AND EXISTS (SELECT 1 FROM transactions t WHERE t.workflow_id = o.workflow_id AND t.final_at IS NOT NULL)
		ORDER BY o.delivered_at LIMIT $2 FOR UPDATE OF o SKIP LOCKED)`, age.Seconds(), limit)
	if err != nil {
		return 0, fmt.Errorf("prune outbox: %w", err)
	}
	return res.RowsAffected()
}

// PruneRawRequests deletes at most limit raw requests (inbound_requests) received more than age
// ago, unless they belong to an open transaction: directly, or through the eko-response or
// partner callback parsed from them. Requests that belong to no transaction at all (refused,
// invalid, misrouted) go too. The parsed records stay; their link to the raw request becomes
// NULL (ON DELETE SET NULL).
func (s *Store) PruneRawRequests(ctx context.Context, age time.Duration, limit int) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM inbound_requests WHERE id IN (
		SELECT r.id FROM inbound_requests r
		WHERE r.received_at < now() - make_interval(secs => $1)
		  AND NOT EXISTS (SELECT 1 FROM transactions t WHERE t.id = r.transaction_id AND t.final_at IS NULL)
		  AND NOT EXISTS (SELECT 1 FROM eko_responses e JOIN transactions t ON t.id = e.transaction_id
		                  WHERE e.inbound_request_id = r.id AND t.final_at IS NULL)
		  AND NOT EXISTS (SELECT 1 FROM partner_callbacks p JOIN transactions t ON t.id = p.transaction_id
		                  WHERE p.inbound_request_id = r.id AND t.final_at IS NULL)
		ORDER BY r.received_at LIMIT $2 FOR UPDATE OF r SKIP LOCKED)`, age.Seconds(), limit)
	if err != nil {
		return 0, fmt.Errorf("prune raw requests: %w", err)
	}
	return res.RowsAffected()
}
