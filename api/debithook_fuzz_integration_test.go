package api_test

import (
	"context"
	"database/sql"
	"net/http"
	"testing"

	"github.com/aepsflow/aepsflow/apptest"
)

// FuzzDebitHookOverHTTP holds issue 10's invariant over the real stack (HTTP, PostgreSQL): for
// every debit-hook body whatever its structure, names, types, numbers or unicode, an allow
// reply's request_hash is Eko's hash recomputed from the transaction as booked in PostgreSQL
// (checkSignsBooked), and anything else is a refusal in the protocol's shape. The seeds run in
// every plain go test; `go test -fuzz FuzzDebitHookOverHTTP ./api/` explores further.
func FuzzDebitHookOverHTTP(f *testing.F) {
	a := apptest.Start(f, apptest.Options{NoWorker: true, NoRelay: true})
	// Limits that never refuse, so that the fuzzer keeps reaching the allow path.
	count, amount := 1<<30, "1000000000000"
	a.RegisterAgent(agentCode, &count, &amount)
	for _, seed := range []string{
		rawHook("1540880592059", `["customer_id","amount","user_code"]`, `{"customer_id":"9999999999","bank_code":"PUNB","type":"2","user_code":"20810200","amount":"100"}`),
		rawHook("1540880592060", `["customer_id","amount","user_code"]`, `{"customer_id":9999999999,"bank_code":607094,"type":2,"user_code":20810200,"amount":2500.00}`),
		rawHook("1540880592061", `["customer_id","amount","user_code"]`, `{"customer_id":"9999999999","bank_code":"PUNB","type":"3","user_code":"20810200"}`),
		rawHook("1540880592062", `["customer_id","user_code"]`, `{"customer_id":"9999999999","type":4,"user_code":"20810200"}`),
		rawHook("1540880592063", `["customer_id","amount","user_code"]`, `{"customer_id":"9999999999","bank_code":"PUNB","type":"3","user_code":"20810200","amount":"10000"}`),
		rawHook("1540880592064", `["customer_id","amt2","user_code"]`, `{"customer_id":"9999999999","type":"2","user_code":"20810200","amount":"100","amt2":"10000"}`),
		rawHook("1540880592065", `["customer_id","amount","bank_code","user_code"]`, `{"customer_id":"9999999999","bank_code":"0","type":"2","user_code":"20810200","amount":"1000"}`),
		rawHook("1540880592066", `["customer_id","amount","user_code"]`, `{"customer_id":"9999999999","type":"2","user_code":"20810200","amount":"100","\u0061mount":"10000"}`),
		rawHook("1540880592067", `["customer_id","amount","user_code"]`, `{"customer_id":"9999999999","bank_code":"234567890124","type":"2","user_code":"20810200","amount":"100"}`),
		rawHook("स्वागत", `["customer\u005fid","amount","user_code"]`, `{"customer_id":"9999999999","bank_code":"SBIN0001234","type":"2","user_code":"20810200","amount":"100.00","नाम":"é"}`),
		// The same reference again with another amount: a conflict, never a second signature.
		rawHook("1540880592059", `["customer_id","amount","user_code"]`, `{"customer_id":"9999999999","bank_code":"PUNB","type":"2","user_code":"20810200","amount":"10000"}`),
		`{"action":"debit-hook","detail":{"client_ref_id":"1","request_hash_params":["customer_id","amount","user_code"],"data":[]}}`,
		`{"action":"debit-hook","detail":"x"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		status, r := post(t, a, string(body))
		if !r.allowed() {
			if status == http.StatusOK && !r.isRefusal() {
				t.Fatalf("status %d reply %+v: neither an allow nor a refusal", status, r)
			}
			if r.RequestHash != "" || r.SecretKey != "" {
				t.Fatalf("a refusal carries a signature: %+v", r)
			}
			return
		}
		// Requests are sent one at a time: the last one stored is this one.
		var last struct {
			Outcome       string        `db:"outcome"`
			TransactionID sql.NullInt64 `db:"transaction_id"`
		}
		if err := a.Store.DB().GetContext(context.Background(), &last,
			`SELECT outcome, transaction_id FROM inbound_requests ORDER BY id DESC LIMIT 1`); err != nil {
			t.Fatal(err)
		}
		if !last.TransactionID.Valid || (last.Outcome != "allowed" && last.Outcome != "allowed_repeat") {
			t.Fatalf("allowed, but stored as %+v", last)
		}
		checkSignsBooked(t, r, bookedRow(t, a, "id = $1", last.TransactionID.Int64))
	})
}
