package api

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/shopspring/decimal"

	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/txstate"
)

// List page sizes: JSON pages are bounded (a page is built in memory); the CSV export streams
// every matching row unless a limit is asked for.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
	// exportFlushRows: the CSV export flushes to the client every so many rows, so that a month of
	// transactions goes out as it is read instead of piling up in a buffer.
	exportFlushRows = 500
)

// CSVColumns are the export's columns, in order.
var CSVColumns = []string{"reference", "provider", "type", "agent", "amount", "commission", "tds", "state",
	"tid", "bank_reference", "created", "final", "flagged"}

// listItem is one transaction in the JSON list.
type listItem struct {
	Reference   string        `json:"reference"`
	ProviderRef string        `json:"provider_ref"`
	Provider    string        `json:"provider"`
	Type        string        `json:"type"`
	Agent       string        `json:"agent"`
	Amount      *string       `json:"amount"`
	Commission  *string       `json:"commission"`
	TDS         *string       `json:"tds"`
	State       txstate.State `json:"state"`
	StateReason string        `json:"state_reason"`
	TID         string        `json:"tid"`
	BankRef     string        `json:"bank_reference"`
	Created     string        `json:"created"`
	Final       *string       `json:"final"`
	Flagged     bool          `json:"flagged"`
	FlagReason  string        `json:"flag_reason,omitempty"`
}

// Money prints an exact amount with at least two decimals ("100.00", "0.325"), never through a
// float.
func Money(d decimal.Decimal) string {
	if d.Exponent() < -2 {
		return d.String()
	}
	return d.StringFixed(2)
}

func nullMoney(d decimal.NullDecimal) *string {
	if !d.Valid {
		return nil
	}
	s := Money(d.Decimal)
	return &s
}

func (s *Server) listItem(r db.FinanceRow) listItem {
	it := listItem{Reference: r.ClientRefID, ProviderRef: r.ProviderRef, Provider: r.Provider, Type: r.TxType,
		Agent: r.AgentUserCode.String, Amount: nullMoney(r.Amount), Commission: nullMoney(r.Commission),
		TDS: nullMoney(r.TDS), State: r.State, StateReason: r.StateReason, TID: r.TID, BankRef: r.BankRefNum,
		Created: s.timeText(r.CreatedAt), Flagged: r.Flagged, FlagReason: r.FlagReason}
	if r.FinalAt.Valid {
		f := s.timeText(r.FinalAt.Time)
		it.Final = &f
	}
	return it
}

// timeText shows a time in LIMIT_TIMEZONE, the zone finance counts days in.
func (s *Server) timeText(t time.Time) string {
	return t.In(s.location()).Format(time.RFC3339)
}

func (s *Server) location() *time.Location {
	if s.Config.LimitLocation != nil {
		return s.Config.LimitLocation
	}
	return time.UTC
}

var (
	dateRE     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	providerRE = regexp.MustCompile(`^(eko|partner:.+)$`)
	knownType  = map[string]bool{"cash_withdrawal": true, "balance_inquiry": true, "mini_statement": true}
)

// parseBound reads from/to: a date (YYYY-MM-DD, a whole day in LIMIT_TIMEZONE; "to" includes it)
// or an RFC 3339 instant ("to" excludes it).
func (s *Server) parseBound(v string, isTo bool) (time.Time, error) {
	if dateRE.MatchString(v) {
		d, err := time.ParseInLocation(time.DateOnly, v, s.location())
		if err != nil {
			return time.Time{}, err
		}
		if isTo {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	return time.Parse(time.RFC3339Nano, v)
}

// parseListFilter reads the list's query parameters; the error is for the client.
func (s *Server) parseListFilter(c *gin.Context, csvOut bool) (db.ListFilter, error) {
	var f db.ListFilter
	var err error
	if v := c.Query("from"); v != "" {
		if f.From, err = s.parseBound(v, false); err != nil {
			return f, fmt.Errorf("from must be YYYY-MM-DD or an RFC 3339 time, got %q", v)
		}
	}
	if v := c.Query("to"); v != "" {
		if f.To, err = s.parseBound(v, true); err != nil {
			return f, fmt.Errorf("to must be YYYY-MM-DD or an RFC 3339 time, got %q", v)
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return f, errors.New("to must be after from")
	}
	f.Agent = c.Query("agent")
	if f.Agent != "" && !userCodeRE.MatchString(f.Agent) {
		return f, errors.New("agent must be a user_code: 1 to 32 letters, digits, '_' or '-'")
	}
	if f.State = txstate.State(c.Query("state")); f.State != "" && !slices.Contains(txstate.All(), f.State) {
		return f, fmt.Errorf("unknown state %q", f.State)
	}
	if f.Type = c.Query("type"); f.Type != "" && !knownType[f.Type] {
		return f, fmt.Errorf("unknown type %q: cash_withdrawal, balance_inquiry or mini_statement", f.Type)
	}
	if f.Provider = c.Query("provider"); f.Provider != "" && !providerRE.MatchString(f.Provider) {
		return f, fmt.Errorf("provider must be eko or partner:<id>, got %q", f.Provider)
	}
	if v := c.Query("flagged"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, fmt.Errorf("flagged must be true or false, got %q", v)
		}
		f.Flagged = &b
	}
	if v := c.Query("cursor"); v != "" {
		cur, err := db.DecodeCursor(v)
		if err != nil {
			return f, errors.New("invalid cursor: pass back next_cursor as given")
		}
		f.After = &cur
	}
	if !csvOut {
		f.Limit = defaultPageSize
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || (!csvOut && n > maxPageSize) {
			return f, fmt.Errorf("limit must be 1 to %d", maxPageSize)
		}
		f.Limit = n
	}
	return f, nil
}

// wantsCSV: format=csv, or an Accept header that asks for text/csv (and format is not json).
func wantsCSV(c *gin.Context) bool {
	switch strings.ToLower(c.Query("format")) {
	case "csv":
		return true
	case "json":
		return false
	}
	return strings.Contains(strings.ToLower(c.GetHeader("Accept")), "text/csv")
}

// listTransactions serves GET /v1/transactions: a JSON page, or the CSV export.
func (s *Server) listTransactions(c *gin.Context) {
	csvOut := wantsCSV(c)
	f, err := s.parseListFilter(c, csvOut)
	if err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": err.Error()})
		return
	}
	if csvOut {
		s.exportCSV(c, f)
		return
	}
	limit := f.Limit
	f.Limit = limit + 1 // one more tells whether there is a next page
	items := make([]listItem, 0, min(limit, 64))
	var last db.FinanceRow
	more := false
	err = s.Store.StreamTransactions(c.Request.Context(), f, func(r db.FinanceRow) error {
		if len(items) == limit {
			more = true
			return nil
		}
		items = append(items, s.listItem(r))
		last = r
		return nil
	})
	if err != nil {
		s.Logger.Error("list transactions", "err", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "could not read transactions"})
		return
	}
	var next *string
	if more {
		cur := db.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}.Encode()
		next = &cur
	}
	c.JSON(http.StatusOK, gin.H{"transactions": items, "next_cursor": next})
}

// csvSafe keeps a cell from being read as a formula by a spreadsheet: references and Eko's
// fields come from a browser, and "=HYPERLINK(...)" must stay text.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func (s *Server) csvRecord(r db.FinanceRow, rec []string) []string {
	opt := func(d decimal.NullDecimal) string {
		if !d.Valid {
			return ""
		}
		return Money(d.Decimal)
	}
	final := ""
	if r.FinalAt.Valid {
		final = s.timeText(r.FinalAt.Time)
	}
	return append(rec[:0], csvSafe(r.ClientRefID), csvSafe(r.Provider), r.TxType, csvSafe(r.AgentUserCode.String),
		opt(r.Amount), opt(r.Commission), opt(r.TDS), string(r.State), csvSafe(r.TID), csvSafe(r.BankRefNum),
		s.timeText(r.CreatedAt), final, strconv.FormatBool(r.Flagged))
}

// exportCSV streams the matching transactions as CSV, written and flushed as PostgreSQL hands
// them over. With a limit, the cursor of the next page is sent as the trailer
// Aepsflow-Next-Cursor (the header is gone by the time we know).
func (s *Server) exportCSV(c *gin.Context, f db.ListFilter) {
	w := c.Writer
	rc := http.NewResponseController(w)
	limit := f.Limit
	// Trailers: the row count (a complete export always ends with it) and, for a page, the
	// next page's cursor; both are known only at the end.
	w.Header().Set("Trailer", "Aepsflow-Rows, Aepsflow-Next-Cursor")
	if limit > 0 {
		f.Limit = limit + 1
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="transactions.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	started := false
	start := func() error {
		started = true
		w.WriteHeader(http.StatusOK)
		return cw.Write(CSVColumns)
	}
	rec := make([]string, 0, len(CSVColumns))
	n := 0
	var last db.FinanceRow
	more := false
	flush := func() error {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		// A long export must not trip the server's WriteTimeout: each flush buys it more time.
		_ = rc.SetWriteDeadline(time.Now().Add(time.Minute))
		s.exportFlushed()
		return rc.Flush()
	}
	err := s.Store.StreamTransactions(c.Request.Context(), f, func(r db.FinanceRow) error {
		if !started {
			if err := start(); err != nil {
				return err
			}
		}
		if limit > 0 && n == limit {
			more = true
			return nil
		}
		if err := cw.Write(s.csvRecord(r, rec)); err != nil {
			return err
		}
		n++
		last = r
		if n%exportFlushRows == 0 {
			return flush()
		}
		return nil
	})
	if err != nil && !started {
		s.Logger.Error("export transactions", "err", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "could not read transactions"})
		return
	}
	if err != nil {
		// The status is sent: all that is left is to cut the export short visibly. Closing the
		// connection before the final chunk makes every client report an incomplete transfer,
		// where ending the response normally would hand over a truncated file as complete.
		s.Logger.Error("export transactions interrupted", "rows", n, "err", err)
		cw.Flush()
		// gin refuses to hijack once the body is written; the server's own writer does not.
		var raw http.ResponseWriter = w
		if u, ok := w.(interface{ Unwrap() http.ResponseWriter }); ok {
			raw = u.Unwrap()
		}
		conn, _, herr := http.NewResponseController(raw).Hijack()
		if herr == nil {
			_ = conn.Close()
		} else {
			s.Logger.Error("export: could not cut the connection", "err", herr)
		}
		c.Abort()
		return
	}
	if !started {
		if err := start(); err != nil {
			return
		}
	}
	if more {
		w.Header().Set("Aepsflow-Next-Cursor", db.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}.Encode())
	}
	w.Header().Set("Aepsflow-Rows", strconv.Itoa(n))
	_ = flush()
}

// exportFlushed counts the export's flushes (tests check that it streams).
func (s *Server) exportFlushed() {
	if s.OnExportFlush != nil {
		s.OnExportFlush()
	}
}
