package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aepsflow/aepsflow/eko/sim"
)

// mainRun is what the main load leaves for the later phases.
type mainRun struct {
	txs      []*ekoTx
	partners []*partnerTx
	start    time.Time // the first debit-hook
	profiles []func()  // waits for the CPU profiles still running
}

// runMain is the main load: every debit-hook, then the eko-responses with the partner callbacks
// beside them, then the drain until every transaction is final.
func (b *bench) runMain(ctx context.Context) (mainRun, error) {
	o := b.o
	m := mainRun{txs: b.newTxs(o.n, "main")}
	if err := b.scriptInquiries(ctx, m.txs); err != nil {
		return m, err
	}
	m.partners = b.newPartners(o.partnerN)
	dh := newRecorder("debit-hook")
	er := newRecorder("eko-response")
	pc := newRecorder("partner callback")
	m.start = time.Now()
	if err := b.phase("debit-hooks", func() error {
		m.profiles = append(m.profiles, b.prof.capture(ctx, "debit-hooks", "api"))
		b.debitHooks(ctx, m.txs, dh)
		return nil
	}); err != nil {
		return m, err
	}
	if err := b.phase("eko-responses+partner", func() error {
		m.profiles = append(m.profiles, b.prof.capture(ctx, "eko-responses", "api", "worker"))
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); b.partnerCallbacks(ctx, m.partners, pc) }()
		b.ekoResponses(ctx, m.txs, er)
		wg.Wait()
		return nil
	}); err != nil {
		return m, err
	}
	if err := b.phase("drain", func() error {
		for _, p := range m.profiles {
			p() // the eko-response profiles end in the drain; the drain's own starts after them
		}
		m.profiles = append(m.profiles[:0], b.prof.capture(ctx, "drain", "worker"))
		return b.waitFinal(ctx, b.expectedRows(m.partners, m.txs))
	}); err != nil {
		return m, err
	}
	b.res.add(dh.summary(), er.summary(), pc.summary())
	ttf, pttf, err := b.timeToFinal(ctx, m.txs, m.partners)
	if err != nil {
		return m, err
	}
	b.res.add(ttf, pttf)
	return m, nil
}

func (b *bench) newTxs(n int, phase string) []*ekoTx {
	out := make([]*ekoTx, n)
	total := 0
	for _, m := range b.o.mix {
		total += m.weight
	}
	for i := range out {
		// Deterministic mix (i-th of every `total`), random everything else.
		k, st := i%total, ""
		for _, m := range b.o.mix {
			if k < m.weight {
				st = m.txStatus
				break
			}
			k -= m.weight
		}
		out[i] = &ekoTx{
			ref: sim.NewClientRefID(), agent: agentCode(randInt(b.o.agents)), customer: "9" + randomDigits(9),
			amount: strconv.Itoa(100 + 50*randInt(99)), txStatus: st, phase: phase,
		}
	}
	// Spread the statuses over time.
	for i := len(out) - 1; i > 0; i-- {
		j := randInt(i + 1)
		out[i].txStatus, out[j].txStatus = out[j].txStatus, out[i].txStatus
	}
	return out
}

// scriptInquiries tells the inquiry simulator what Eko would answer for each transaction: a
// failure confirmed for those that will be reported failed (the service verifies reported failures,
// VERIFY_FAILURE), success for the rest, and in both cases the transaction's own amount, since the
// service compares the amount Eko reports with the one it allowed. Done before the phase, outside
// any timing.
func (b *bench) scriptInquiries(ctx context.Context, txs []*ekoTx) error {
	if b.o.simControl == "" {
		return nil
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	for _, tx := range txs {
		status := "0"
		if tx.txStatus == "1" {
			status = "1"
		}
		if _, err := sim.ScriptRemoteAmount(ctx, hc, b.o.simControl, tx.ref, tx.amount, []sim.Step{{TxStatus: status}}); err != nil {
			return fmt.Errorf("script the inquiry of %s: %w", tx.ref, err)
		}
	}
	return nil
}

func (b *bench) newPartners(n int) []*partnerTx {
	out := make([]*partnerTx, n)
	for i := range out {
		st := "SUCCESS"
		if i%10 == 9 {
			st = "FAILED"
		}
		out[i] = &partnerTx{ref: "P" + randomDigits(12), txnID: randomDigits(19), status: st}
	}
	return out
}

// drive calls fn(i) for every i in [0, n) on conc workers; with rate > 0 the calls start at that
// pace (never more than conc in flight).
func drive(ctx context.Context, n, conc int, rate float64, fn func(i int)) {
	idx := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				fn(i)
			}
		}()
	}
	var tick <-chan time.Time
	if rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer t.Stop()
		tick = t.C
	}
loop:
	for i := 0; i < n; i++ {
		if tick != nil {
			select {
			case <-tick:
			case <-ctx.Done():
				break loop
			}
		}
		select {
		case idx <- i:
		case <-ctx.Done():
			break loop
		}
	}
	close(idx)
	wg.Wait()
}

var hashParams = sim.DefaultRequestHashParams()

func (b *bench) debitHooks(ctx context.Context, txs []*ekoTx, rec *recorder) {
	drive(ctx, len(txs), b.o.conc, b.o.rate, func(i int) { b.debitHook(ctx, txs[i], rec) })
}

// debitHook sends tx's debit-hook and checks the reply: allowed, and signed as Eko verifies it
// (by ekosim, and again by this package's own HMAC).
func (b *bench) debitHook(ctx context.Context, tx *ekoTx, rec *recorder) {
	start := time.Now()
	res, err := b.gw.DebitHook(ctx, sim.DebitHookRequest{
		ClientRefID: tx.ref, Type: "2", CustomerID: tx.customer, UserCode: tx.agent, Amount: tx.amount,
		RequestHashParams: hashParams,
	})
	end := time.Now()
	switch {
	case err != nil:
	case res.HTTPStatus != http.StatusOK || !res.Allowed:
		err = fmt.Errorf("debit-hook refused: HTTP %d: %s", res.HTTPStatus, res.Message)
	case !res.Verified():
		err = fmt.Errorf("debit-hook reply fails ekosim's checks: %s", res.Mismatch)
	default:
		data := map[string]string{"customer_id": tx.customer, "bank_code": "PUNB", "type": "2", "user_code": tx.agent, "amount": tx.amount}
		if verr := checkAllowReply(b.o.accessKey, res.SecretKeyTimestamp, res.SecretKey, res.RequestHash, hashParams, data, end); verr != nil {
			err = fmt.Errorf("debit-hook reply fails the independent check: %w", verr)
		}
	}
	tx.allowed = err == nil
	rec.add(start, end, err)
}

func (b *bench) ekoResponses(ctx context.Context, txs []*ekoTx, rec *recorder) {
	drive(ctx, len(txs), b.o.conc, b.o.rate, func(i int) { b.ekoResponse(ctx, txs[i], rec) })
}

// ekoResponse reports tx's outcome (only for an allowed transaction: Eko sends none otherwise).
func (b *bench) ekoResponse(ctx context.Context, tx *ekoTx, rec *recorder) {
	if !tx.allowed {
		return
	}
	start := time.Now()
	res, err := b.gw.EkoResponse(ctx, tx.ref, tx.txStatus, nil)
	end := time.Now()
	if err == nil && (res.HTTPStatus != http.StatusOK || res.Status != "ok" || res.Outcome != "recorded") {
		err = fmt.Errorf("eko-response not recorded: HTTP %d status=%s outcome=%s %s", res.HTTPStatus, res.Status, res.Outcome, res.Message)
	}
	tx.respSent, tx.respOK = start, err == nil
	rec.add(start, end, err)
}

// istLayout is the partner's date format, in India Standard Time.
const istLayout = "2006-01-02 15:04:05"

var ist = time.FixedZone("IST", 5*3600+1800)

func (b *bench) partnerBody(p *partnerTx) []byte {
	now := time.Now().In(ist).Format(istLayout)
	desc := "Transaction Successful"
	if p.status != "SUCCESS" {
		desc = "DEBIT TIMEOUT"
	}
	body, _ := json.Marshal(map[string]any{
		"statusDesc": desc, "createdDate": now, "updatedDate": now, "productCode": "AEPS",
		"txnType": "AEPS_CASH_WITHDRAWAL", "txnAmount": "2000", "txnDateTime": now,
		"customeridentIfication": "xxxx-xxxx-5604", "status": p.status, "rrn": randomDigits(12),
		"txnId": json.Number(p.txnID), "username": "benchagent", "ClientRefID": p.ref, "param_b": "", "param_c": "",
	})
	return body
}

// partnerCallbacks delivers each partner callback partnerDeliveries times, one after another (as
// the partner retries), the same bytes each time.
func (b *bench) partnerCallbacks(ctx context.Context, ps []*partnerTx, rec *recorder) {
	url := strings.TrimRight(b.o.apiURL, "/") + "/partner/aeps/callback"
	drive(ctx, len(ps), b.o.partnerConc, 0, func(i int) {
		p := ps[i]
		body := b.partnerBody(p)
		ok := true
		for d := 0; d < b.o.partnerDeliveries; d++ {
			start := time.Now()
			if d == 0 {
				p.firstSent = start
			}
			status, err := b.postPartner(ctx, url, body)
			end := time.Now()
			if err == nil && status != "0" {
				err = fmt.Errorf("partner callback answered status %q", status)
			}
			ok = ok && err == nil
			rec.add(start, end, err)
		}
		p.recorded = ok
	})
}

func (b *bench) postPartner(ctx context.Context, url string, body []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("client_id", b.o.partnerClient)
	req.Header.Set("client_secret", b.o.partnerSecret)
	resp, err := b.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var r struct {
		Status     string `json:"status"`
		StatusDesc string `json:"statusDesc"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err := json.Unmarshal(raw, &r); err != nil {
		return "", fmt.Errorf("partner reply HTTP %d is not JSON: %.100q", resp.StatusCode, raw)
	}
	if resp.StatusCode != http.StatusOK {
		return r.Status, fmt.Errorf("partner reply HTTP %d: %s", resp.StatusCode, r.StatusDesc)
	}
	return r.Status, nil
}
