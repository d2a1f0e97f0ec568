package main

import (
	"context"
	"fmt"
)

// runPaced sends the same transactions at a rate the workflows keep up with, for the latency from
// eko-response to final state without a backlog in front of it.
func (b *bench) runPaced(ctx context.Context) ([]*ekoTx, error) {
	o := b.o
	if o.pacedN <= 0 {
		return nil, nil
	}
	paced := b.newTxs(o.pacedN, "paced")
	if err := b.scriptInquiries(ctx, paced); err != nil {
		return nil, err
	}
	pdh, per := newRecorder(fmt.Sprintf("debit-hook, paced %g/s", o.pacedRate)), newRecorder(fmt.Sprintf("eko-response, paced %g/s", o.pacedRate))
	if err := b.phase("paced", func() error {
		drive(ctx, len(paced), o.conc, o.pacedRate, func(i int) {
			b.debitHook(ctx, paced[i], pdh)
			b.ekoResponse(ctx, paced[i], per)
		})
		return b.waitFinal(ctx, b.expectedRows(nil, paced))
	}); err != nil {
		return nil, err
	}
	pttf, _, err := b.timeToFinal(ctx, paced, nil)
	if err != nil {
		return nil, err
	}
	pttf.Name = fmt.Sprintf("eko-response → final state, paced %g/s", o.pacedRate)
	b.res.add(pdh.summary(), per.summary(), pttf)
	if err := b.phase("paced-trivial", func() error { return b.floorTrivialPaced(ctx) }); err != nil {
		return nil, err
	}
	return paced, nil
}
