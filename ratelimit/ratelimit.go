// Package ratelimit limits requests per client address with a token bucket each
// (golang.org/x/time/rate), and bounds what a flood can make us store: a refused request is
// stored only within a second, slower bucket of its client, and counted otherwise.
//
// The clients are kept in a size-capped LRU (hashicorp/golang-lru): an idle client is forgotten
// once both its buckets have refilled, when forgetting it changes nothing, and the least
// recently seen client makes room when the cap is reached.
package ratelimit

import (
	"fmt"
	"math"
	"net/netip"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/time/rate"
)

// Config sets one limiter.
type Config struct {
	// Rate is the requests per second one client may sustain, Burst how many it may send at once.
	Rate  float64
	Burst int
	// StoreRate and StoreBurst bound how many of one client's refused requests are stored; past
	// them a refusal is only counted.
	StoreRate  float64
	StoreBurst int
	// MaxClients caps how many clients are tracked at once.
	MaxClients int
}

// Verdict is the decision on one request.
type Verdict struct {
	Allowed bool
	// Store: refused, and within the client's bound of stored refusals.
	Store bool
	// Unstored counts this client's refusals that were only counted: when Store, those since its
	// previous stored refusal; otherwise those so far, this one included.
	Unstored int64
	// RetryAfter is when the client's next request would be allowed.
	RetryAfter time.Duration
}

// Limiter tracks clients. It is safe for concurrent use.
type Limiter struct {
	cfg  Config
	idle time.Duration // both buckets are full again after this long without a request

	mu      sync.Mutex
	clients *simplelru.LRU[string, *client]
}

type client struct {
	requests, stored *rate.Limiter
	last             time.Time
	unstored         int64
}

// New builds a limiter.
func New(cfg Config) (*Limiter, error) {
	if cfg.Rate <= 0 || cfg.Burst < 1 || cfg.StoreRate <= 0 || cfg.StoreBurst < 0 || cfg.MaxClients < 1 {
		return nil, fmt.Errorf("rate limit: need rate > 0, burst >= 1, store rate > 0, store burst >= 0, max clients >= 1; got %+v", cfg)
	}
	clients, err := simplelru.NewLRU[string, *client](cfg.MaxClients, nil)
	if err != nil {
		return nil, fmt.Errorf("rate limit: %w", err)
	}
	refill := func(burst int, r float64) time.Duration {
		return time.Duration(math.Ceil(float64(burst) / r * float64(time.Second)))
	}
	return &Limiter{cfg: cfg, clients: clients,
		idle: max(refill(cfg.Burst, cfg.Rate), refill(cfg.StoreBurst, cfg.StoreRate), time.Second)}, nil
}

// Take decides on one request of the client key at now.
func (l *Limiter) Take(key string, now time.Time) Verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forgetIdle(now)
	c, ok := l.clients.Get(key)
	if !ok {
		c = &client{
			requests: rate.NewLimiter(rate.Limit(l.cfg.Rate), l.cfg.Burst),
			stored:   rate.NewLimiter(rate.Limit(l.cfg.StoreRate), l.cfg.StoreBurst),
		}
		l.clients.Add(key, c)
	}
	c.last = now
	if c.requests.AllowN(now, 1) {
		return Verdict{Allowed: true}
	}
	wait := (1 - c.requests.TokensAt(now)) / l.cfg.Rate
	v := Verdict{RetryAfter: time.Duration(math.Ceil(wait * float64(time.Second)))}
	if c.stored.AllowN(now, 1) {
		v.Store, v.Unstored, c.unstored = true, c.unstored, 0
	} else {
		c.unstored++
		v.Unstored = c.unstored
	}
	return v
}

// Len is the number of clients tracked.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.clients.Len()
}

// forgetIdle drops the clients idle for long enough that a fresh entry would be the same. The
// LRU's oldest entry is the least recently seen, so this stops at the first one still active.
func (l *Limiter) forgetIdle(now time.Time) {
	for {
		_, c, ok := l.clients.GetOldest()
		if !ok || now.Sub(c.last) < l.idle {
			return
		}
		l.clients.RemoveOldest()
	}
}

// Key is the bucket of a client address: the address itself for IPv4, its /64 network for IPv6
// (one subscriber commonly holds a whole /64, so single addresses would give it unlimited
// buckets). Anything that is not an address is its own key.
func Key(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, err := ip.Prefix(64)
	if err != nil {
		return ip.String()
	}
	return p.String()
}
