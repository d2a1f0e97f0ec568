package db

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aepsflow/aepsflow/testenv"
)

func TestStorable(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain text unchanged", "Transaction successful", "Transaction successful"},
		{"other scripts and controls PostgreSQL accepts unchanged", "लेनदेन\tसफल\x7f", "लेनदेन\tसफल\x7f"},
		{"empty", "", ""},
		{"NUL", "debit-hook\x00", "debit-hook\uFFFD"},
		{"several NULs", "\x00a\x00", "\uFFFDa\uFFFD"},
		{"invalid byte", "Rs \xff 100", "Rs \uFFFD 100"},
		{"truncated rune", "caf\xc3", "caf\uFFFD"},
		{"NUL and invalid byte", "\x00\xfe", "\uFFFD\uFFFD"},
		{"a written Aadhaar number in a message", "Aadhaar 2345 6789 0124 verified", "Aadhaar XXXX XXXX 0124 verified"},
		{"an Aadhaar key quoted in an error", `invalid: {"aadhaar":"234567890124"}`, `invalid: {"aadhaar":"XXXXXXXX0124"}`},
		{"an RRN (12 digits, no key) is kept", "230612077853", "230612077853"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := storable(tt.in); got != tt.want {
				t.Fatalf("storable(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestStorableJSON(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // "" means the input unchanged
		wantErr  bool
	}{
		{name: "common document unchanged, numbers and key order kept", in: `{"b":100.50,"a":"x\n"}`},
		{name: "an escaped backslash before u0000 is only a false alarm", in: `{"a":"\\u0000"}`, want: `{"a":"\\u0000"}`},
		{name: "NUL escape in a string", in: `{"message":"ok\u0000","amount":2000.0}`, want: `{"amount":2000.0,"message":"ok` + "\uFFFD" + `"}`},
		{name: "NUL escape in a key and in a list", in: `{"k\u0000":["\u0000",1e2]}`, want: `{"k` + "\uFFFD" + `":["` + "\uFFFD" + `",1e2]}`},
		{name: "invalid UTF-8 in a string", in: "{\"m\":\"a\xffb\"}", want: `{"m":"a` + "\uFFFD" + `b"}`},
		{name: "not JSON at all", in: "{\"m\":\xff", wantErr: true},
		{name: "an Aadhaar number in a header value", in: `{"Referer":"https://x.example/?aadhaar=234567890124"}`,
			want: `{"Referer":"https://x.example/?aadhaar=XXXXXXXX0124"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := storableJSON([]byte(tt.in))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("storableJSON(%q) = %q, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == "" {
				want = tt.in
			}
			if got != want {
				t.Fatalf("storableJSON(%q) = %q, want %q", tt.in, got, want)
			}
		})
	}
}

// What storable and storableJSON return, PostgreSQL takes: the very inputs it refuses.
func TestStorableIsAcceptedByPostgreSQL(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	doc, err := json.Marshal(map[string]any{"m": "a\x00b", "k\x00": []string{"\x00"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		text, doc string
	}{
		{"NUL", "a\x00b", string(doc)},
		{"invalid UTF-8", "a\xff\xc3b", "{\"m\":\"a\xff\xc3b\"}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var raw string
			if err := s.db.GetContext(ctx, &raw, `SELECT $1::text`, tt.text); err == nil {
				t.Fatalf("PostgreSQL took %q as text: the test proves nothing", tt.text)
			}
			if err := s.db.GetContext(ctx, &raw, `SELECT $1::jsonb::text`, tt.doc); err == nil {
				t.Fatalf("PostgreSQL took %q as jsonb: the test proves nothing", tt.doc)
			}
			var text string
			if err := s.db.GetContext(ctx, &text, `SELECT $1::text`, storable(tt.text)); err != nil {
				t.Fatalf("text: %v", err)
			}
			d, err := storableJSON([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			var back string
			if err := s.db.GetContext(ctx, &back, `SELECT $1::jsonb::text`, d); err != nil {
				t.Fatalf("jsonb %q: %v", d, err)
			}
		})
	}
}
