package workflows

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Duration is a time.Duration that JSON shows as a Go duration string ("30s", "120h"), so that
// an operator reads a workflow's policy in the Temporal Web UI. It decodes both that and the
// integer nanoseconds that inputs written before it carry (recorded histories, outbox entries).
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(FormatDuration(time.Duration(d)))
}

// UnmarshalJSON takes a Go duration string or a JSON number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration %s: neither a duration string nor integer nanoseconds", b)
	}
	*d = Duration(n)
	return nil
}

// FormatDuration is time.Duration's String without the zero units it ends with: "5m", not
// "5m0s"; "120h", not "120h0m0s". time.ParseDuration reads it back exactly.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// policyJSON is Policy as it travels: the same fields, names and tags in the same order, with
// every time.Duration field a Duration. Built from Policy by reflection, so that a field added
// to Policy travels without anyone having to remember this function.
func policyJSON() reflect.Type {
	pt := reflect.TypeFor[Policy]()
	fields := make([]reflect.StructField, pt.NumField())
	for i := range fields {
		f := pt.Field(i)
		if f.Type == reflect.TypeFor[time.Duration]() {
			f.Type = reflect.TypeFor[Duration]()
		}
		fields[i] = reflect.StructField{Name: f.Name, Type: f.Type, Tag: f.Tag}
	}
	return reflect.StructOf(fields)
}

// MarshalJSON shows the durations as Go duration strings. The workflow only decodes its input
// (the relay encodes it), so this changes nothing the workflow records, and histories whose
// input holds nanoseconds decode as before (UnmarshalJSON).
func (p Policy) MarshalJSON() ([]byte, error) {
	j := reflect.New(policyJSON()).Elem()
	pv := reflect.ValueOf(p)
	for i := range pv.NumField() {
		j.Field(i).Set(pv.Field(i).Convert(j.Field(i).Type()))
	}
	return json.Marshal(j.Interface())
}

// UnmarshalJSON reads durations as strings or integer nanoseconds.
func (p *Policy) UnmarshalJSON(b []byte) error {
	j := reflect.New(policyJSON())
	if err := json.Unmarshal(b, j.Interface()); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	pv := reflect.ValueOf(p).Elem()
	for i := range pv.NumField() {
		pv.Field(i).Set(j.Elem().Field(i).Convert(pv.Field(i).Type()))
	}
	return nil
}
