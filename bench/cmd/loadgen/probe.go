package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aepsflow/aepsflow/config"
	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/intents"
	"github.com/aepsflow/aepsflow/outbox"
	"github.com/aepsflow/aepsflow/workflows"
)

// The store probes split the debit-hook's latency into its database part and the rest (HTTP, JSON,
// signing, logging), and measure what two changes to the database part would give, without
// changing the service:
//
//	probe: DecideDebitHook in process    the shipped store call, no HTTP (lib/pq as configured:
//	                                      every statement with parameters is two round trips,
//	                                      Parse/Describe then Bind/Execute)
//	probe: same statements, binary_parameters   the same statements with lib/pq's
//	                                      binary_parameters=yes (one round trip each; jsonb values
//	                                      must then be sent as text, not []byte)
//	probe: one plpgsql function call      the same statements inside one PL/pgSQL function: one
//	                                      round trip and one statement per debit-hook
//
// They run against a database of their own (the bench database's name + "_probe", same schema),
// so that nothing they write reaches the relay, Temporal or the loss check. The last two replicate
// db.decide's happy path (a new reference, an active agent within its limits) and must follow it
// when it changes.
func (b *bench) storeProbes(ctx context.Context) error {
	// On make cluster's topology the server's connections are shared with the Temporal server
	// (a pool per service) and four processes: pools as wide as the load ran it out of them
	// ("too many clients already"). The probes are information, so they take what is left.
	conc, err := b.probeConcurrency(ctx)
	if err != nil {
		return err
	}
	if conc < 1 {
		slog.Warn("store probes skipped: PostgreSQL has no connections to spare", "spare", probeSpare)
		return nil
	}
	if conc < b.o.conc {
		slog.Info("store probes run below the load's concurrency, to fit PostgreSQL's free connections", "concurrency", conc)
	}
	probeURL, err := b.probeDatabase(ctx)
	if err != nil {
		return err
	}
	store, err := db.Open(ctx, probeURL)
	if err != nil {
		return err
	}
	defer store.Close()
	store.DB().SetMaxOpenConns(conc)
	store.DB().SetMaxIdleConns(conc)
	if err := db.Migrate(ctx, store.DB().DB, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		return fmt.Errorf("migrate probe database: %w", err)
	}
	count, amount := 100000, decimal.NewFromInt(1_000_000_000)
	for i := 0; i < b.o.agents; i++ {
		if _, err := store.UpsertAgent(ctx, db.AgentUpdate{UserCode: agentCode(i), CountLimit: &count, AmountLimit: &amount}); err != nil {
			return fmt.Errorf("register probe agents: %w", err)
		}
	}
	if _, err := store.DB().ExecContext(ctx, probeFunction); err != nil {
		return fmt.Errorf("create probe function: %w", err)
	}
	binURL, err := withQuery(probeURL, "binary_parameters", "yes")
	if err != nil {
		return err
	}
	bin, err := sql.Open("postgres", binURL)
	if err != nil {
		return err
	}
	defer bin.Close()
	bin.SetMaxOpenConns(conc)
	bin.SetMaxIdleConns(conc)

	day := time.Now().In(ist)
	n := b.o.floorN
	// Each variant is a phase of its own, so that the CPU table shows what each costs PostgreSQL.
	variants := []struct {
		phase, name string
		pool        *sql.DB // its idle connections are closed after the variant
		call        func(h probeHook) error
	}{
		{"probe-shipped", "probe: DecideDebitHook in process (as shipped)", store.DB().DB, func(h probeHook) error {
			d, err := store.DecideDebitHook(ctx, probeIntents, h.dbHook())
			if err == nil && !d.Allow {
				err = fmt.Errorf("refused: %s", d.Code)
			}
			return err
		}},
		{"probe-binary", "probe: same statements, binary_parameters", nil, func(h probeHook) error { return h.decideBinary(ctx, bin) }},
		{"probe-function", "probe: one plpgsql function call", bin, func(h probeHook) error { return h.decideFunction(ctx, bin) }},
	}
	for _, v := range variants {
		name := v.name
		if conc < b.o.conc {
			name += fmt.Sprintf(" (concurrency %d)", conc)
		}
		rec := newRecorder(name)
		if err := b.phase(v.phase, func() error {
			drive(ctx, n, conc, b.o.rate, func(i int) {
				h := newProbeHook(i, b.o.agents, day)
				start := time.Now()
				err := v.call(h)
				rec.add(start, time.Now(), err)
			})
			return nil
		}); err != nil {
			return err
		}
		b.res.add(rec.summary())
		if v.pool != nil {
			v.pool.SetMaxIdleConns(0) // one probe pool holds connections at a time
		}
	}
	return nil
}

// probeSpare is how many of PostgreSQL's free connections the probes leave to the others.
const probeSpare = 10

// probeConcurrency is the load's concurrency, or less when PostgreSQL has fewer free connections
// (beyond probeSpare) than that.
func (b *bench) probeConcurrency(ctx context.Context) (int, error) {
	var free int
	err := b.db.QueryRowContext(ctx, `SELECT current_setting('max_connections')::int
		- current_setting('superuser_reserved_connections')::int
		- coalesce(current_setting('reserved_connections', true)::int, 0)
		- (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')`).Scan(&free)
	if err != nil {
		return 0, fmt.Errorf("count PostgreSQL's free connections: %w", err)
	}
	return min(b.o.conc, free-probeSpare), nil
}

// probeDatabase recreates the probe database next to the bench database.
func (b *bench) probeDatabase(ctx context.Context) (string, error) {
	u, err := url.Parse(b.o.dbURL)
	if err != nil {
		return "", fmt.Errorf("parse --db: %w", err)
	}
	name := u.Path[1:] + "_probe"
	for _, q := range []string{`DROP DATABASE IF EXISTS "` + name + `" WITH (FORCE)`, `CREATE DATABASE "` + name + `"`} {
		if _, err := b.db.ExecContext(ctx, q); err != nil {
			return "", fmt.Errorf("%s: %w", q, err)
		}
	}
	u.Path = "/" + name
	return u.String(), nil
}

func withQuery(raw, key, value string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// probeHook is one debit-hook's data, as the API would pass it to the store.
type probeHook struct {
	ref, agent, mobile, amountText string
	amount                         decimal.Decimal
	day                            time.Time
	body                           []byte
	headers                        map[string]string
	detailsHash                    string
}

func newProbeHook(i, agents int, day time.Time) probeHook {
	h := probeHook{ref: "Q" + randomDigits(12), agent: agentCode(i % agents), mobile: "9" + randomDigits(9), day: day}
	h.amountText = fmt.Sprint(100 + 50*(i%99))
	h.amount = decimal.RequireFromString(h.amountText)
	h.body, _ = json.Marshal(map[string]any{"action": "debit-hook", "detail": map[string]any{
		"http_method": "POST", "interaction_type_id": 344, "interaction_label": "AePS", "client_ref_id": h.ref,
		"request_hash_params": []string{"customer_id", "amount", "user_code"},
		"data":                map[string]string{"customer_id": h.mobile, "bank_code": "PUNB", "type": "2", "user_code": h.agent, "amount": h.amountText},
	}})
	h.headers = map[string]string{"Content-Type": "application/json", "User-Agent": "Go-http-client/1.1", "Content-Length": fmt.Sprint(len(h.body))}
	sum := sha256.Sum256([]byte(h.ref + h.mobile + h.agent + h.amountText))
	h.detailsHash = hex.EncodeToString(sum[:])
	return h
}

func (h probeHook) input(createdAt time.Time) workflows.Input {
	return workflows.Input{
		Provider: "eko", ClientRefID: h.ref, ProviderRef: h.ref, TxType: "cash_withdrawal", AgentUserCode: h.agent,
		Amount: h.amountText, CreatedAt: createdAt.UTC(),
		Policy: workflows.Policy{ResponseTimeout: 5 * time.Minute, InquiryInitialBackoff: 30 * time.Second,
			InquiryMaxBackoff: 30 * time.Minute, InquiryDeadline: 120 * time.Hour, NotFoundGrace: 30 * time.Minute,
			VerifySuccess: true, VerifyFailure: true, UnknownReviewAfter: 24 * time.Hour},
	}
}

// probeIntents is the service's hand-off to workflows, with the policy of probeHook.input.
var probeIntents = intents.New(config.Config{Lifecycle: config.Lifecycle{EkoResponseTimeout: 5 * time.Minute,
	InquiryInitialBackoff: 30 * time.Second, InquiryMaxBackoff: 30 * time.Minute, InquiryDeadline: 120 * time.Hour,
	NotFoundGrace: 30 * time.Minute, VerifySuccess: true, VerifyFailure: true, PartnerUnknownReview: 24 * time.Hour}}, nil)

func (h probeHook) dbHook() db.DebitHook {
	return db.DebitHook{
		Inbound: db.Inbound{Source: "eko", Method: "POST", Path: "/eko/aeps/callback", RemoteAddr: "127.0.0.1:40000",
			Headers: h.headers, Body: h.body, BodySize: int64(len(h.body)), Action: "debit-hook", Reference: h.ref, HTTPStatus: 200},
		Provider: "eko", ProviderRef: h.ref, TxType: "cash_withdrawal", CashWithdrawal: true, AgentUserCode: h.agent,
		CustomerMobile: h.mobile, BankCode: "PUNB", Amount: decimal.NullDecimal{Decimal: h.amount, Valid: true},
		AmountText: h.amountText, DetailsHash: h.detailsHash, BusinessDay: h.day,
		DefaultLimits: db.Limits{Count: 50, Amount: decimal.NewFromInt(200000)},
	}
}

// decideBinary runs db.decide's statements (happy path) on a binary_parameters pool: one round trip
// per statement; jsonb values as text.
func (h probeHook) decideBinary(ctx context.Context, pool *sql.DB) error {
	tx, err := pool.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	var id int64
	var created time.Time
	wfID := workflows.WorkflowID("eko", h.ref)
	steps := []func() error{
		func() error {
			err := tx.QueryRowContext(ctx, `SELECT id FROM transactions WHERE provider = $1 AND provider_ref = $2`, "eko", h.ref).Scan(&id)
			if err == sql.ErrNoRows {
				return nil
			}
			if err == nil {
				return fmt.Errorf("reference exists")
			}
			return err
		},
		func() error {
			var reported bool
			return tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM eko_responses WHERE client_ref_id = $1)`, h.ref).Scan(&reported)
		},
		func() error {
			var status string
			var cl sql.NullInt64
			var al decimal.NullDecimal
			return tx.QueryRowContext(ctx, `SELECT status, daily_cash_count_limit, daily_cash_amount_limit FROM agents
				WHERE user_code = $1 FOR UPDATE`, h.agent).Scan(&status, &cl, &al)
		},
		func() error {
			var n int
			var total decimal.Decimal
			return tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(amount), 0) FROM transactions
				WHERE agent_user_code = $1 AND business_day = $2 AND tx_type = $3 AND state NOT IN ('failed', 'expired', 'reversed')`,
				h.agent, h.day, "cash_withdrawal").Scan(&n, &total)
		},
		func() error {
			return tx.QueryRowContext(ctx, `
				INSERT INTO transactions (provider, client_ref_id, provider_ref, workflow_id, tx_type, agent_user_code,
					customer_mobile, bank_code, amount, amount_text, details_hash, business_day, state)
				VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) RETURNING id, created_at`,
				"eko", h.ref, h.ref, wfID, "cash_withdrawal", h.agent, h.mobile, "PUNB", h.amount, h.amountText,
				h.detailsHash, h.day, "pending").Scan(&id, &created)
		},
		func() error {
			e, err := outbox.StartEntry(wfID, h.input(created))
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO outbox (kind, workflow_id, signal_name, payload, dedupe_key)
				VALUES ($1,$2,$3,$4,$5) ON CONFLICT (dedupe_key) DO NOTHING`, e.Kind, e.WorkflowID, e.SignalName, string(e.Payload), e.DedupeKey)
			return err
		},
		func() error {
			var eid int64
			return tx.QueryRowContext(ctx, `INSERT INTO tx_events (transaction_id, kind, from_state, to_state, detail, dedupe_key)
				VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (transaction_id, dedupe_key) DO NOTHING RETURNING id`,
				id, "created", "", "pending", `{"reason":"debit-hook allowed"}`, "created").Scan(&eid)
		},
		func() error {
			headers, _ := json.Marshal(h.headers)
			var iid int64
			return tx.QueryRowContext(ctx, `
				INSERT INTO inbound_requests (source, method, path, remote_addr, headers, body, body_size,
					body_truncated, body_redacted, action, reference, transaction_id, outcome, outcome_detail, http_status)
				VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15) RETURNING id`,
				"eko", "POST", "/eko/aeps/callback", "127.0.0.1:40000", string(headers), h.body, len(h.body), false, false,
				"debit-hook", h.ref, id, "allowed", "allowed", 200).Scan(&iid)
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// decideFunction makes the same decision and writes in one call of probeFunction.
func (h probeHook) decideFunction(ctx context.Context, pool *sql.DB) error {
	wfID := workflows.WorkflowID("eko", h.ref)
	// The payload's created_at is filled in by the function from the inserted row.
	e, err := outbox.StartEntry(wfID, h.input(time.Time{}))
	if err != nil {
		return err
	}
	headers, _ := json.Marshal(h.headers)
	var allow bool
	var code string
	err = pool.QueryRowContext(ctx, `SELECT allow, code FROM bench_decide_debit_hook($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)`,
		"eko", h.ref, wfID, "cash_withdrawal", h.agent, h.mobile, "PUNB", h.amount, h.amountText, h.detailsHash, h.day,
		50, decimal.NewFromInt(200000), string(e.Payload), string(headers), h.body).Scan(&allow, &code)
	if err == nil && !allow {
		err = fmt.Errorf("refused: %s", code)
	}
	return err
}

// probeFunction is db.decide's happy path as one PL/pgSQL function (probe database only).
const probeFunction = `
CREATE OR REPLACE FUNCTION bench_decide_debit_hook(
	p_provider text, p_ref text, p_workflow_id text, p_tx_type text, p_agent text, p_mobile text, p_bank text,
	p_amount numeric, p_amount_text text, p_details_hash text, p_day date, p_count_limit int, p_amount_limit numeric,
	p_payload jsonb, p_headers jsonb, p_body bytea)
RETURNS TABLE (allow boolean, code text, transaction_id bigint) LANGUAGE plpgsql AS $$
DECLARE
	ag record;
	used_n bigint;
	used_sum numeric;
	new_id bigint;
	new_created timestamptz;
BEGIN
	IF EXISTS (SELECT 1 FROM transactions t WHERE t.provider = p_provider AND t.provider_ref = p_ref) THEN
		RETURN QUERY SELECT false, 'repeat'::text, NULL::bigint; RETURN;
	END IF;
	IF EXISTS (SELECT 1 FROM eko_responses r WHERE r.client_ref_id = p_ref) THEN
		RETURN QUERY SELECT false, 'reference_already_reported'::text, NULL::bigint; RETURN;
	END IF;
	SELECT a.status, a.daily_cash_count_limit, a.daily_cash_amount_limit INTO ag FROM agents a WHERE a.user_code = p_agent FOR UPDATE;
	IF NOT FOUND OR ag.status <> 'active' THEN
		RETURN QUERY SELECT false, 'agent'::text, NULL::bigint; RETURN;
	END IF;
	SELECT count(*), coalesce(sum(t.amount), 0) INTO used_n, used_sum FROM transactions t
	WHERE t.agent_user_code = p_agent AND t.business_day = p_day AND t.tx_type = p_tx_type
	  AND t.state NOT IN ('failed', 'expired', 'reversed');
	IF used_n + 1 > coalesce(ag.daily_cash_count_limit, p_count_limit)
	   OR used_sum + p_amount > coalesce(ag.daily_cash_amount_limit, p_amount_limit) THEN
		RETURN QUERY SELECT false, 'limit'::text, NULL::bigint; RETURN;
	END IF;
	INSERT INTO transactions (provider, client_ref_id, provider_ref, workflow_id, tx_type, agent_user_code,
		customer_mobile, bank_code, amount, amount_text, details_hash, business_day, state)
	VALUES (p_provider, p_ref, p_ref, p_workflow_id, p_tx_type, p_agent, p_mobile, p_bank, p_amount, p_amount_text,
		p_details_hash, p_day, 'pending')
	RETURNING id, created_at INTO new_id, new_created;
	INSERT INTO outbox (kind, workflow_id, signal_name, payload, dedupe_key)
	VALUES ('start', p_workflow_id, '', jsonb_set(p_payload, '{input,created_at}', to_jsonb(new_created)), 'start:' || p_workflow_id)
	ON CONFLICT (dedupe_key) DO NOTHING;
	INSERT INTO tx_events (transaction_id, kind, from_state, to_state, detail, dedupe_key)
	VALUES (new_id, 'created', '', 'pending', '{"reason":"debit-hook allowed"}', 'created');
	INSERT INTO inbound_requests (source, method, path, remote_addr, headers, body, body_size, body_truncated,
		body_redacted, action, reference, transaction_id, outcome, outcome_detail, http_status)
	VALUES ('eko', 'POST', '/eko/aeps/callback', '127.0.0.1:40000', p_headers, p_body, length(p_body), false, false,
		'debit-hook', p_ref, new_id, 'allowed', 'allowed', 200);
	RETURN QUERY SELECT true, 'allowed'::text, new_id;
END;
$$`
