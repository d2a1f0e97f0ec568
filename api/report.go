package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/aepsflow/aepsflow/report"
)

// dailyReport serves GET /v1/reports/daily?date=YYYY-MM-DD: the agents' statement of that day in
// LIMIT_TIMEZONE, as JSON or CSV (format=csv or Accept: text/csv).
func (s *Server) dailyReport(c *gin.Context) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	d, err := report.Build(c.Request.Context(), s.Store, c.Query("date"), s.location(), now())
	switch {
	case errors.Is(err, report.ErrBadDate):
		c.JSON(http.StatusBadRequest, gin.H{"error": "date must be YYYY-MM-DD (a day in " + s.location().String() + ")"})
		return
	case err != nil:
		s.Logger.Error("daily report", "date", c.Query("date"), "err", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "could not build the report"})
		return
	}
	if wantsCSV(c) {
		c.Header("Content-Type", "text/csv; charset=utf-8")
		c.Header("Content-Disposition", `attachment; filename="daily-`+d.Date+`.csv"`)
		c.Status(http.StatusOK)
		if err := report.WriteCSV(c.Writer, d); err != nil {
			s.Logger.Error("write daily report", "err", err)
		}
		return
	}
	c.JSON(http.StatusOK, d)
}
