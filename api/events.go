package api

import (
	"context"
	"database/sql"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/aepsflow/aepsflow/db"
)

// eventView is an event to the platform and its delivery state.
type eventView struct {
	EventID      string  `json:"event_id"`
	Type         string  `json:"type"`
	Acknowledged bool    `json:"acknowledged"`
	SetAside     bool    `json:"set_aside"`
	Attempts     int     `json:"attempts"`
	LastStatus   int     `json:"last_status,omitempty"`
	LastError    string  `json:"last_error,omitempty"`
	Created      string  `json:"created"`
	Acked        *string `json:"acknowledged_at"`
}

func (s *Server) eventViews(ctx context.Context, txID int64) ([]eventView, error) {
	evs, err := s.Store.TransactionEvents(ctx, txID)
	if err != nil {
		return nil, err
	}
	out := make([]eventView, 0, len(evs))
	for _, e := range evs {
		v := eventView{EventID: e.EventID, Type: e.Type, Acknowledged: e.AcknowledgedAt.Valid, SetAside: e.GaveUpAt.Valid,
			Attempts: e.Attempts, LastStatus: e.LastStatus, LastError: e.LastError, Created: s.timeText(e.CreatedAt)}
		if e.AcknowledgedAt.Valid {
			a := s.timeText(e.AcknowledgedAt.Time)
			v.Acked = &a
		}
		out = append(out, v)
	}
	return out, nil
}

// listEvents serves GET /v1/transactions/{ref}/events.
func (s *Server) listEvents(c *gin.Context) {
	t, ok := s.findOne(c)
	if !ok {
		return
	}
	v, err := s.eventViews(c.Request.Context(), t.ID)
	if err != nil {
		s.Logger.Error("list events", "ref", t.ClientRefID, "err", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "could not read events"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"events": v})
}

// resendEvents serves POST /v1/transactions/{ref}/events/resend: every event of the transaction
// not yet acknowledged is sent now, in order, stopping at the first the platform does not
// acknowledge (a later one must not overtake it). An acknowledged event is never sent again.
func (s *Server) resendEvents(c *gin.Context) {
	if s.Webhook == nil {
		c.JSON(http.StatusConflict, gin.H{"error": "events to the platform are off (WEBHOOK_URL is not set)"})
		return
	}
	t, ok := s.findOne(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	evs, err := s.Store.TransactionEvents(ctx, t.ID)
	if err != nil {
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "could not read events"})
		return
	}
	var pending []string
	for _, e := range evs {
		if !e.AcknowledgedAt.Valid {
			pending = append(pending, e.EventID)
		}
	}
	// Recorded before anything is sent: a re-send is never made without its audit event.
	if err := s.Store.RecordAudit(ctx, db.Audit{Operator: operator(c), Action: "resend", Target: t.WorkflowID,
		TransactionID: sql.NullInt64{Int64: t.ID, Valid: true}, Detail: map[string]any{"event_ids": pending}}); err != nil {
		s.Logger.Error("audit re-send", "workflow_id", t.WorkflowID, "err", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "could not record the re-send"})
		return
	}
	status := http.StatusOK
	for _, e := range evs {
		if e.AcknowledgedAt.Valid {
			continue
		}
		_, err := s.Store.DeliverEvent(ctx, e.EventID, func(body []byte) db.Attempt {
			r := s.Webhook.Send(ctx, e.EventID, body)
			return db.Attempt{Status: r.Status, Error: r.Detail}
		})
		if err != nil {
			s.Logger.Warn("re-send event", "event_id", e.EventID, "err", err)
			status = http.StatusBadGateway
			break
		}
		s.Logger.Info("event re-sent", "event_id", e.EventID, "type", e.Type)
	}
	v, err := s.eventViews(ctx, t.ID)
	if err != nil {
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "could not read events"})
		return
	}
	c.JSON(status, gin.H{"events": v})
}
