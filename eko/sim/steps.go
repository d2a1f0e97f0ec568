package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Step is one scripted behaviour of the Inquiry API for a reference.
type Step struct {
	TxStatus   string        // the tx_status answered (when none of the below applies)
	Times      int           // answer this many times, then move on; 0 = forever
	NotFound   bool          // answer "not found" (status 1, response_status_id 463, empty data)
	HTTPStatus int           // answer with this HTTP status (e.g. 500) instead of 200
	Delay      time.Duration // wait this long before answering (slow Eko; a client timeout)
	Garbage    bool          // answer 200 with a body that is not Eko's JSON (a proxy's page)
	// EkoError answers 200 with Eko's error envelope: status 1, this response_status_id, empty
	// data (e.g. -1, which some integrations see for "not found" and others for anything).
	EkoError int
	// Fields override or add response data fields (e.g. amount, or tx_status as a number).
	Fields map[string]any
}

// stepJSON is Step on the control API: the delay as a duration string ("2s").
type stepJSON struct {
	TxStatus   string         `json:"tx_status,omitempty"`
	Times      int            `json:"times,omitempty"`
	NotFound   bool           `json:"not_found,omitempty"`
	HTTPStatus int            `json:"http_status,omitempty"`
	Delay      string         `json:"delay,omitempty"`
	Garbage    bool           `json:"garbage,omitempty"`
	EkoError   int            `json:"eko_error,omitempty"`
	Fields     map[string]any `json:"fields,omitempty"`
}

// MarshalJSON writes the delay as a duration string.
func (s Step) MarshalJSON() ([]byte, error) {
	j := stepJSON{TxStatus: s.TxStatus, Times: s.Times, NotFound: s.NotFound, HTTPStatus: s.HTTPStatus, Garbage: s.Garbage,
		EkoError: s.EkoError, Fields: s.Fields}
	if s.Delay > 0 {
		j.Delay = s.Delay.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the control API's form and checks it.
func (s *Step) UnmarshalJSON(b []byte) error {
	var j stepJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // Fields' numbers are sent back exactly as given
	if err := dec.Decode(&j); err != nil {
		return err
	}
	st := Step{TxStatus: j.TxStatus, Times: j.Times, NotFound: j.NotFound, HTTPStatus: j.HTTPStatus, Garbage: j.Garbage,
		EkoError: j.EkoError, Fields: j.Fields}
	if j.Delay != "" {
		d, err := time.ParseDuration(j.Delay)
		if err != nil {
			return fmt.Errorf("delay %q: %w", j.Delay, err)
		}
		st.Delay = d
	}
	if err := st.validate(); err != nil {
		return err
	}
	*s = st
	return nil
}

func (s Step) validate() error {
	switch {
	case s.Times < 0:
		return fmt.Errorf("times %d is negative", s.Times)
	case s.Delay < 0:
		return fmt.Errorf("delay %s is negative", s.Delay)
	case s.HTTPStatus != 0 && (s.HTTPStatus < 100 || s.HTTPStatus > 599):
		return fmt.Errorf("http_status %d is not an HTTP status", s.HTTPStatus)
	case s.TxStatus == "" && !s.NotFound && !s.Garbage && s.HTTPStatus == 0 && s.EkoError == 0:
		return fmt.Errorf("a step needs a tx_status, not_found, garbage, eko_error or http_status")
	}
	return nil
}

// String is the step in ParseSteps' notation.
func (s Step) String() string {
	var b strings.Builder
	switch {
	case s.Garbage:
		b.WriteString("garbage")
	case s.HTTPStatus != 0 && s.HTTPStatus != 200:
		b.WriteString("http" + strconv.Itoa(s.HTTPStatus))
	case s.NotFound:
		b.WriteString("notfound")
	case s.EkoError != 0:
		b.WriteString("err" + strconv.Itoa(s.EkoError))
	default:
		b.WriteString(s.TxStatus)
	}
	if s.Delay > 0 {
		b.WriteString("@" + s.Delay.String())
	}
	if s.Times > 0 {
		b.WriteString("x" + strconv.Itoa(s.Times))
	}
	return b.String()
}

// ParseSteps reads a script in a compact notation for the command line: comma-separated steps,
// each ANSWER[@DELAY][xTIMES], where ANSWER is a tx_status (digits), "notfound" (or "nf"),
// "garbage", "err" followed by a response_status_id (Eko's error envelope: "err-1", "err1237"),
// or "http" followed by a status ("http500"). Examples: "2x3,0" (pending three times,
// then success), "nfx2,1", "0@20s" (success after 20 s), "http500x2,0".
func ParseSteps(spec string) ([]Step, error) {
	var steps []Step
	for i, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("step %d is empty", i+1)
		}
		st, err := parseStep(item)
		if err != nil {
			return nil, fmt.Errorf("step %d %q: %w", i+1, item, err)
		}
		steps = append(steps, st)
	}
	return steps, nil
}

func parseStep(item string) (Step, error) {
	var st Step
	if i := strings.LastIndexByte(item, 'x'); i > 0 {
		n, err := strconv.Atoi(item[i+1:])
		if err != nil || n < 1 {
			return Step{}, fmt.Errorf("times %q must be a positive integer", item[i+1:])
		}
		st.Times, item = n, item[:i]
	}
	if answer, delay, ok := strings.Cut(item, "@"); ok {
		d, err := time.ParseDuration(delay)
		if err != nil || d < 0 {
			return Step{}, fmt.Errorf("delay %q must be a duration like 2s", delay)
		}
		st.Delay, item = d, answer
	}
	switch lower := strings.ToLower(item); {
	case lower == "nf" || lower == "notfound":
		st.NotFound = true
	case lower == "garbage":
		st.Garbage = true
	case strings.HasPrefix(lower, "err"):
		n, err := strconv.Atoi(lower[3:])
		if err != nil || n == 0 {
			return Step{}, fmt.Errorf("%q: want err followed by a non-zero response_status_id", item)
		}
		st.EkoError = n
	case strings.HasPrefix(lower, "http"):
		n, err := strconv.Atoi(lower[4:])
		if err != nil || n < 100 || n > 599 {
			return Step{}, fmt.Errorf("%q: want http followed by an HTTP status", item)
		}
		st.HTTPStatus = n
	case item != "" && strings.Trim(item, "0123456789") == "":
		st.TxStatus = item
	default:
		return Step{}, fmt.Errorf("%q is not a tx_status, notfound, garbage, errNNN or httpNNN", item)
	}
	return st, nil
}
