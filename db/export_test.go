package db

import "context"

// Queue queues one outbox entry on its own, as the stores' writes do inside their transactions.
func Queue(ctx context.Context, s *Store, e OutboxEntry) error { return insertOutbox(ctx, s.db, e) }
