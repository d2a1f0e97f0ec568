package redact

import "log/slog"

// LogAttr is a slog.HandlerOptions.ReplaceAttr that masks, with Body's rules, every string and
// error a log line carries. Log lines quote request text (a refusal's reason, an unknown action,
// a tx_status): whatever the caller passes, no full Aadhaar number reaches the log.
func LogAttr(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		if out, changed := Body([]byte(a.Value.String())); changed {
			a.Value = slog.StringValue(string(out))
		}
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			if out, changed := Body([]byte(errorText(err))); changed {
				a.Value = slog.StringValue(string(out))
			}
		}
	}
	return a
}

// errorText is err.Error(), or "<nil>" for a typed nil whose Error method panics: slog would
// print that rather than crash, and a log line must never crash its caller.
func errorText(err error) (s string) {
	defer func() {
		if recover() != nil {
			s = "<nil>"
		}
	}()
	return err.Error()
}
