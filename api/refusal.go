package api

import (
	"context"
	"log/slog"

	"github.com/gin-gonic/gin"

	"github.com/aepsflow/aepsflow/db"
)

// refusal is how a callback ends when it is refused or could not be handled.
type refusal struct {
	status  int
	outcome string // stored, logged and counted: invalid, too_large, unauthorized, error, ...
	reason  string // stored and logged, for operators; the caller learns only what reply says
	reply   any    // in the caller's own protocol shape
}

// reject takes every refusal's steps, in order: the raw request is stored with the outcome (bad
// input never vanishes), the refusal is logged (as an error when we failed, not the caller),
// counted under its outcome, and answered in the protocol's shape.
func (s *Server) reject(c *gin.Context, ctx context.Context, log *slog.Logger, msg string, in db.Inbound, r refusal) {
	in.Outcome, in.OutcomeDetail, in.HTTPStatus = r.outcome, r.reason, r.status
	s.storeOnly(ctx, in)
	level := slog.LevelInfo
	if r.outcome == "error" {
		level = slog.LevelError
	}
	attrs := []any{"outcome", r.outcome, "reason", r.reason, "status", r.status}
	if in.Reference != "" {
		attrs = append(attrs, "reference", in.Reference)
	}
	log.Log(ctx, level, msg, attrs...)
	mark(c, r.outcome)
	c.JSON(r.status, r.reply)
}
