package redact

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

type nilErr struct{ msg string }

func (e *nilErr) Error() string { return e.msg } // panics on a nil *nilErr

func TestLogAttrTypedNilError(t *testing.T) {
	var buf bytes.Buffer
	var err *nilErr
	slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: LogAttr})).Info("x", "err", error(err))
	if !strings.Contains(buf.String(), `"err"`) {
		t.Fatalf("log line lost: %s", buf.String())
	}
}

func TestLogAttrMasksEveryStringAndError(t *testing.T) {
	const full = "234567890124" // passes the Verhoeff check
	grouped := "2345 6789 0124"
	for _, h := range []struct {
		name string
		new  func(*bytes.Buffer) slog.Handler
	}{
		{"json", func(b *bytes.Buffer) slog.Handler {
			return slog.NewJSONHandler(b, &slog.HandlerOptions{ReplaceAttr: LogAttr})
		}},
		{"text", func(b *bytes.Buffer) slog.Handler {
			return slog.NewTextHandler(b, &slog.HandlerOptions{ReplaceAttr: LogAttr})
		}},
	} {
		t.Run(h.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(h.new(&buf)).With("source", "aadhaar="+full)
			log.Info("refused",
				"reason", `invalid: {"aadhaar":"`+full+`"}`,
				"err", errors.New("tx_status "+grouped+" is not a status"),
				slog.Group("req", "action", "uid="+full),
				"note", "uid "+full+" seen", // a bare number in free text
				"rrn", "230612077853", // an RRN stays
				"tid", "234567890130", "client_ref_id", "987654321012") // references stay exact (both pass the check)
			if n := strings.Count(buf.String(), "XXXXXXXX0124"); n != 4 {
				t.Errorf("%d masked numbers, want 4:\n%s", n, buf.String())
			}
			out := buf.String()
			if strings.Contains(out, full) || strings.Contains(out, grouped) {
				t.Fatalf("log holds a full Aadhaar number:\n%s", out)
			}
			for _, want := range []string{"XXXXXXXX0124", "XXXX XXXX 0124", "230612077853", "234567890130", "987654321012", "refused"} {
				if !strings.Contains(out, want) {
					t.Errorf("log lacks %q:\n%s", want, out)
				}
			}
		})
	}
}
