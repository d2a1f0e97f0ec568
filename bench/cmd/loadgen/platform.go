package main

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/aepsflow/aepsflow/webhook"
)

// platform plays the platform's backend for the bench: it receives aepsflow's events, checks each
// signature, acknowledges every one and counts deliveries per event_id, so that the loss check
// can tell an event delivered twice (sent again after we acknowledged it) from one never sent.
type platform struct {
	secret []byte
	mu     sync.Mutex
	stats  platformStats
}

// platformStats is what GET /platform/stats answers.
type platformStats struct {
	Deliveries    int            `json:"deliveries"`
	BadSignatures int            `json:"bad_signatures"`
	ByEvent       map[string]int `json:"by_event"` // event_id -> deliveries acknowledged
}

func newPlatform(secret string) *platform {
	return &platform{secret: []byte(secret), stats: platformStats{ByEvent: map[string]int{}}}
}

func (p *platform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/platform/stats":
		p.mu.Lock()
		b, err := json.Marshal(p.stats)
		p.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	case r.Method == http.MethodPost && r.URL.Path == "/platform/events":
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read", http.StatusBadRequest)
			return
		}
		var ev struct {
			EventID string `json:"event_id"`
		}
		_ = json.Unmarshal(body, &ev)
		p.mu.Lock()
		defer p.mu.Unlock()
		p.stats.Deliveries++
		if webhook.Verify(p.secret, r.Header.Get(webhook.SignatureHeader), body, time.Now(), webhook.DefaultTolerance) != nil ||
			ev.EventID == "" || r.Header.Get(webhook.IdempotencyHeader) != ev.EventID {
			p.stats.BadSignatures++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		p.stats.ByEvent[ev.EventID]++
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}
