package db

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Launch is one request for a gateway session.
type Launch struct {
	ID                 int64     `db:"id" json:"id"`
	LaunchedAt         time.Time `db:"launched_at" json:"launched_at"`
	UserCode           string    `db:"user_code" json:"user_code"`
	Outcome            string    `db:"outcome" json:"outcome"` // issued | unknown_agent | agent_suspended
	Auth               string    `db:"auth" json:"auth"`       // gateway_token | launch_token
	SecretKeyTimestamp string    `db:"secret_key_timestamp" json:"secret_key_timestamp"`
	RemoteAddr         string    `db:"remote_addr" json:"remote_addr"`
	UserAgent          string    `db:"user_agent" json:"user_agent"`
}

// RecordLaunch stores a launch and returns it with its ID and time.
func (s *Store) RecordLaunch(ctx context.Context, l Launch) (Launch, error) {
	err := s.db.GetContext(ctx, &l, `
		INSERT INTO gateway_launches (user_code, outcome, auth, secret_key_timestamp, remote_addr, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
		l.UserCode, l.Outcome, l.Auth, l.SecretKeyTimestamp, l.RemoteAddr, l.UserAgent)
	if err != nil {
		return Launch{}, fmt.Errorf("record gateway launch for %s: %w", l.UserCode, err)
	}
	return l, nil
}

// Launches returns an agent's launches, newest first.
func (s *Store) Launches(ctx context.Context, userCode string, limit int) ([]Launch, error) {
	var out []Launch
	err := s.db.SelectContext(ctx, &out, `SELECT * FROM gateway_launches WHERE user_code = $1 ORDER BY id DESC LIMIT $2`, userCode, limit)
	if err != nil {
		return nil, fmt.Errorf("read gateway launches of %s: %w", userCode, err)
	}
	return out, nil
}

// checkLaunch is REQUIRE_GATEWAY_SESSION: a new debit-hook is allowed only for an agent with an
// issued gateway launch within h.RequireLaunchWithin (0: no requirement). The browser carries
// the callback, so anyone can post one; this makes a forger first pass a real, authenticated
// launch for that agent. Both times are the database's, so clocks cannot disagree.
func checkLaunch(ctx context.Context, tx *sqlx.Tx, h DebitHook) (Decision, error) {
	if h.RequireLaunchWithin <= 0 {
		return Decision{Allow: true}, nil
	}
	var launched bool
	err := tx.GetContext(ctx, &launched, `
		SELECT EXISTS (SELECT 1 FROM gateway_launches
			WHERE user_code = $1 AND outcome = 'issued' AND launched_at > now() - make_interval(secs => $2))`,
		h.AgentUserCode, h.RequireLaunchWithin.Seconds())
	if err != nil {
		return Decision{}, fmt.Errorf("look up gateway launches: %w", err)
	}
	if !launched {
		return Decision{Code: "no_gateway_session",
			Message: "This transaction was not started from an authorised AePS session. Please open the AePS gateway again from your portal."}, nil
	}
	return Decision{Allow: true}, nil
}
