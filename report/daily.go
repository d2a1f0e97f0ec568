// Package report builds finance's daily agent statement from the store's figures: counts and
// amounts per agent, type and state, commission and TDS of successes, the net amount due to each
// agent, open withdrawals, and totals. Every amount is an exact decimal.
package report

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aepsflow/aepsflow/db"
	"github.com/aepsflow/aepsflow/txstate"
)

// Open is the state of a transaction that was not final at the cut-off.
const Open = "open"

// Amount is an exact decimal written as a string with at least two decimals.
type Amount struct{ decimal.Decimal }

// String prints "100.00", "0.325".
func (a Amount) String() string {
	if a.Exponent() < -2 {
		return a.Decimal.String()
	}
	return a.StringFixed(2)
}

// MarshalJSON writes the amount as a JSON string, never a number.
func (a Amount) MarshalJSON() ([]byte, error) { return json.Marshal(a.String()) }

// Figure is a count and the sum of the amounts.
type Figure struct {
	Count  int    `json:"count"`
	Amount Amount `json:"amount"`
}

func (f *Figure) add(n int, d decimal.Decimal) {
	f.Count += n
	f.Amount = Amount{f.Amount.Add(d)}
}

// Line is one agent's statement (or the totals).
type Line struct {
	Agent string `json:"agent"`
	// ByType counts the day's transactions per type and per state (final before the cut-off) or
	// "open".
	ByType map[string]map[string]*Figure `json:"by_type"`
	// SuccessfulWithdrawals are the day's cash withdrawals that ended in success.
	SuccessfulWithdrawals Figure `json:"successful_withdrawals"`
	// Commission and TDS of the day's successes (every type).
	Commission Amount `json:"commission"`
	TDS        Amount `json:"tds"`
	// Reversals are cash withdrawals, of any day, that became reversed during this day.
	Reversals Figure `json:"reversals"`
	// NetDue = successful withdrawals + commission - TDS - reversals.
	NetDue Amount `json:"net_due"`
	// OpenWithdrawals are the day's cash withdrawals not final at the cut-off.
	OpenWithdrawals Figure `json:"open_withdrawals"`
}

// LateFinal is a transaction of the day that became final after the day closed: it is listed
// here and not counted above, so that a closed day's figures never change.
type LateFinal struct {
	Reference string  `json:"reference"`
	Provider  string  `json:"provider"`
	Agent     string  `json:"agent"`
	Type      string  `json:"type"`
	Amount    *Amount `json:"amount"`
	State     string  `json:"state"`
	Created   string  `json:"created"`
	Final     string  `json:"final"`
}

// Daily is the statement of one business day.
type Daily struct {
	Date     string `json:"date"`
	Timezone string `json:"timezone"`
	// Closed: the day is over; its figures are as of its end and never change.
	Closed bool `json:"closed"`
	// AsOf is the cut-off: the end of the day, or now for a day not yet over.
	AsOf       string      `json:"as_of"`
	Agents     []*Line     `json:"agents"`
	Totals     *Line       `json:"totals"`
	LateFinals []LateFinal `json:"late_finals"`
}

// ErrBadDate is returned for a date that is not YYYY-MM-DD.
var ErrBadDate = errors.New("date must be YYYY-MM-DD")

// Build reads the figures of date (YYYY-MM-DD, a day in loc) as of now and builds the statement.
func Build(ctx context.Context, store *db.Store, date string, loc *time.Location, now time.Time) (Daily, error) {
	start, err := time.ParseInLocation(time.DateOnly, date, loc)
	if err != nil || start.Format(time.DateOnly) != date {
		return Daily{}, ErrBadDate
	}
	end := start.AddDate(0, 0, 1)
	cutoff, closed := end, !now.Before(end)
	if !closed {
		cutoff = now
	}
	f, err := store.DailyFigures(ctx, date, start, cutoff)
	if err != nil {
		return Daily{}, err
	}
	return assemble(f, date, loc, cutoff, closed), nil
}

func assemble(f db.DayFigures, date string, loc *time.Location, cutoff time.Time, closed bool) Daily {
	lines := map[string]*Line{}
	line := func(agent string) *Line {
		l, ok := lines[agent]
		if !ok {
			l = newLine(agent)
			lines[agent] = l
		}
		return l
	}
	total := newLine("TOTAL")
	for _, g := range f.Groups {
		for _, l := range []*Line{line(g.Agent), total} {
			byState, ok := l.ByType[g.TxType]
			if !ok {
				byState = map[string]*Figure{}
				l.ByType[g.TxType] = byState
			}
			if byState[g.State] == nil {
				byState[g.State] = &Figure{Amount: zero()}
			}
			byState[g.State].add(g.Count, g.Amount)
			if g.State == string(txstate.Success) {
				l.Commission = Amount{l.Commission.Add(g.Commission)}
				l.TDS = Amount{l.TDS.Add(g.TDS)}
				if g.TxType == "cash_withdrawal" {
					l.SuccessfulWithdrawals.add(g.Count, g.Amount)
				}
			}
			if g.State == Open && g.TxType == "cash_withdrawal" {
				l.OpenWithdrawals.add(g.Count, g.Amount)
			}
		}
	}
	for _, r := range f.Reversals {
		line(r.Agent).Reversals.add(r.Count, r.Amount)
		total.Reversals.add(r.Count, r.Amount)
	}
	d := Daily{Date: date, Timezone: loc.String(), Closed: closed, AsOf: cutoff.In(loc).Format(time.RFC3339),
		Agents: []*Line{}, Totals: total, LateFinals: []LateFinal{}}
	for _, l := range lines {
		d.Agents = append(d.Agents, l)
	}
	sort.Slice(d.Agents, func(i, j int) bool { return d.Agents[i].Agent < d.Agents[j].Agent })
	for _, l := range append(d.Agents, total) {
		l.NetDue = Amount{l.SuccessfulWithdrawals.Amount.Add(l.Commission.Decimal).Sub(l.TDS.Decimal).Sub(l.Reversals.Amount.Decimal)}
	}
	for _, lf := range f.LateFinals {
		x := LateFinal{Reference: lf.ClientRefID, Provider: lf.Provider, Agent: lf.Agent, Type: lf.TxType, State: lf.State,
			Created: lf.CreatedAt.In(loc).Format(time.RFC3339), Final: lf.FinalAt.In(loc).Format(time.RFC3339)}
		if lf.Amount.Valid {
			x.Amount = &Amount{lf.Amount.Decimal}
		}
		d.LateFinals = append(d.LateFinals, x)
	}
	return d
}

func zero() Amount { return Amount{decimal.Zero} }

func newLine(agent string) *Line {
	return &Line{Agent: agent, ByType: map[string]map[string]*Figure{},
		SuccessfulWithdrawals: Figure{Amount: zero()}, Commission: zero(), TDS: zero(),
		Reversals: Figure{Amount: zero()}, NetDue: zero(), OpenWithdrawals: Figure{Amount: zero()}}
}

// CSVColumns are the statement's CSV columns: one row per figure (long form, easy to pivot).
var CSVColumns = []string{"section", "agent", "type", "state", "count", "amount", "reference", "created", "final"}

// WriteCSV writes the statement as CSV. Sections: by_type (agent, type, state, count, amount),
// successful_withdrawals, commission, tds, reversals, net_due and open_withdrawals per agent (agent
// TOTAL for the totals), then late_final rows.
func WriteCSV(w io.Writer, d Daily) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(CSVColumns)
	row := func(section, agent, typ, state string, count int, amount Amount) {
		c := ""
		if count >= 0 {
			c = strconv.Itoa(count)
		}
		_ = cw.Write([]string{section, safe(agent), typ, state, c, amount.String(), "", "", ""})
	}
	for _, l := range append(append([]*Line{}, d.Agents...), d.Totals) {
		types := make([]string, 0, len(l.ByType))
		for t := range l.ByType {
			types = append(types, t)
		}
		sort.Strings(types)
		for _, t := range types {
			states := make([]string, 0, len(l.ByType[t]))
			for s := range l.ByType[t] {
				states = append(states, s)
			}
			sort.Strings(states)
			for _, s := range states {
				row("by_type", l.Agent, t, s, l.ByType[t][s].Count, l.ByType[t][s].Amount)
			}
		}
		success, reversed := string(txstate.Success), string(txstate.Reversed)
		row("successful_withdrawals", l.Agent, "cash_withdrawal", success, l.SuccessfulWithdrawals.Count, l.SuccessfulWithdrawals.Amount)
		row("commission", l.Agent, "", success, -1, l.Commission)
		row("tds", l.Agent, "", success, -1, l.TDS)
		row("reversals", l.Agent, "cash_withdrawal", reversed, l.Reversals.Count, l.Reversals.Amount)
		row("net_due", l.Agent, "", "", -1, l.NetDue)
		row("open_withdrawals", l.Agent, "cash_withdrawal", Open, l.OpenWithdrawals.Count, l.OpenWithdrawals.Amount)
	}
	for _, lf := range d.LateFinals {
		amount := ""
		if lf.Amount != nil {
			amount = lf.Amount.String()
		}
		_ = cw.Write([]string{"late_final", safe(lf.Agent), lf.Type, lf.State, "1", amount, safe(lf.Reference), lf.Created, lf.Final})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write statement: %w", err)
	}
	return nil
}

// safe keeps a spreadsheet from reading a cell as a formula.
func safe(v string) string {
	if v != "" && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@') {
		return "'" + v
	}
	return v
}
