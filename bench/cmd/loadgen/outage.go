package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
)

// runOutage stops Temporal, sends transactions while it is away (the API must answer as before),
// starts it again and waits until every transaction so far is final.
func (b *bench) runOutage(ctx context.Context, m mainRun, paced []*ekoTx) ([]*ekoTx, error) {
	o := b.o
	if o.outageN <= 0 {
		return nil, nil
	}
	outage := b.newTxs(o.outageN, "outage")
	if err := b.scriptInquiries(ctx, outage); err != nil {
		return nil, err
	}
	odh := newRecorder("debit-hook, Temporal stopped")
	oer := newRecorder("eko-response, Temporal stopped")
	if err := b.phase("temporal-stop", func() error { return b.stopTemporal(ctx) }); err != nil {
		return nil, err
	}
	if err := b.phase("outage", func() error {
		b.debitHooks(ctx, outage, odh)
		b.ekoResponses(ctx, outage, oer)
		return nil
	}); err != nil {
		return nil, err
	}
	b.res.add(odh.summary(), oer.summary())
	if err := b.phase("temporal-start", func() error { return shell(ctx, o.startCmd, b.stderr) }); err != nil {
		return nil, fmt.Errorf("restart temporal: %w", err)
	}
	if err := b.phase("recovery", func() error { return b.waitFinal(ctx, b.expectedRows(m.partners, m.txs, paced, outage)) }); err != nil {
		return nil, err
	}
	return outage, nil
}

func (b *bench) stopTemporal(ctx context.Context) error {
	if err := shell(ctx, b.o.stopCmd, b.stderr); err != nil {
		return fmt.Errorf("stop temporal: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := b.tc.CheckHealth(cctx, &client.CheckHealthRequest{}); err == nil {
		return errors.New("temporal still answers after --temporal-stop")
	}
	return nil
}
