package api_test

import (
	"context"
	"database/sql"
	"encoding/csv"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aepsflow/aepsflow/apptest"
)

// seeded is a transaction written straight into PostgreSQL, as the workflow would have left it:
// the list, the export and the statement read rows, whatever wrote them.
type seeded struct {
	Provider, Ref, Type, Agent, Amount, State string
	Created                                   time.Time
	Final                                     time.Time // zero: not final
	Flagged                                   bool
	// Eko's report (eko-response): tid, bank reference, commission, TDS.
	TID, BankRef, Commission, TDS string
	TxStatus                      string // of the eko-response; default "0"
	// Partner's report: txnId and RRN.
	PartnerTxnID, RRN string
	ID                int64
}

// seed inserts the transaction (and its report) and returns its id. business_day is the creation
// day in Asia/Kolkata, as the debit-hook computes it.
func seed(t testing.TB, a *apptest.App, s seeded) int64 {
	t.Helper()
	ctx := context.Background()
	if s.Provider == "" {
		s.Provider = "eko"
	}
	if s.Type == "" {
		s.Type = "cash_withdrawal"
	}
	var amount any
	if s.Amount != "" {
		amount = s.Amount
	}
	var final any
	if !s.Final.IsZero() {
		final = s.Final
	}
	day := s.Created.In(a.Config.LimitLocation).Format(time.DateOnly)
	var id int64
	err := a.Store.DB().GetContext(ctx, &id, `INSERT INTO transactions (provider, client_ref_id, provider_ref, workflow_id,
		tx_type, agent_user_code, amount, amount_text, details_hash, business_day, state, flagged, created_at, updated_at, final_at)
		VALUES ($1,$2,$2,'aeps/'||$1||'/'||$2,$3,$4,$5::numeric,$11,'h',$6,$7,$8,$9,$9,$10) RETURNING id`,
		s.Provider, s.Ref, s.Type, s.Agent, amount, day, s.State, s.Flagged, s.Created, final, amount)
	if err != nil {
		t.Fatalf("seed %s: %v", s.Ref, err)
	}
	if s.TID != "" || s.Commission != "" {
		var in int64
		if err := a.Store.DB().GetContext(ctx, &in, `INSERT INTO inbound_requests (source, method, path, remote_addr, body,
			body_size, outcome, http_status) VALUES ('eko','POST','/eko/aeps/callback','test','\x7b7d',2,'recorded',200) RETURNING id`); err != nil {
			t.Fatal(err)
		}
		txStatus := s.TxStatus
		if txStatus == "" {
			txStatus = "0"
		}
		nullable := func(v string) any {
			if v == "" {
				return nil
			}
			return v
		}
		if _, err := a.Store.DB().ExecContext(ctx, `INSERT INTO eko_responses (inbound_request_id, transaction_id, client_ref_id,
			content_hash, tx_status, tid, bank_ref_num, commission, tds, response) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,'{}')`,
			in, id, s.Ref, "c"+s.Ref, txStatus, s.TID, s.BankRef, nullable(s.Commission), nullable(s.TDS)); err != nil {
			t.Fatal(err)
		}
	}
	if s.PartnerTxnID != "" {
		var in int64
		if err := a.Store.DB().GetContext(ctx, &in, `INSERT INTO inbound_requests (source, method, path, remote_addr, body,
			body_size, outcome, http_status) VALUES ('partner','POST','/partner/aeps/callback','test','\x7b7d',2,'recorded',200) RETURNING id`); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Store.DB().ExecContext(ctx, `INSERT INTO partner_callbacks (inbound_request_id, partner_id, txn_id,
			content_hash, transaction_id, client_ref_id, status, status_desc, outcome, disposition, txn_type, txn_type_known,
			product_code, amount, amount_text, created_date, updated_date, txn_date_time, customer_identification, rrn,
			username, param_b, param_c) VALUES ($1,'p1',$2,'c',$3,$4,'0','ok','success','recorded','CW',true,'AEPS',$5::numeric,$8,
			now(),now(),now(),'XXXX1234',$6,$7,'','')`, in, s.PartnerTxnID, id, s.Ref, amount, s.RRN, s.Agent, s.Amount); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// adminGet sends GET path with the admin token and extra headers; it returns status, headers and body.
func adminGet(t testing.TB, base, path string, headers ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apptest.AdminToken)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range resp.Trailer {
		resp.Header[k] = v
	}
	return resp.StatusCode, resp.Header, string(b)
}

func parseCSV(t testing.TB, body string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v\n%s", err, body)
	}
	return recs
}

func nullTime(t time.Time) sql.NullTime { return sql.NullTime{Time: t, Valid: !t.IsZero()} }
