package redact

import "log/slog"

// LogAttr is a slog.HandlerOptions.ReplaceAttr that masks, with Body's rules, every string and
// error a log line carries. Log lines quote request text (a refusal's reason, an unknown action,
// a tx_status): whatever the caller passes, no full Aadhaar number reaches the log.
func LogAttr(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		if isReferenceAttr(a.Key) {
			a.Value = slog.StringValue(TextKeepingBare(a.Value.String())) // exact, for finding it
			break
		}
		a.Value = slog.StringValue(Text(a.Value.String()))
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			if s := errorText(err); Text(s) != s {
				a.Value = slog.StringValue(Text(s)) // only then: a handler may format errors its own way
			}
		}
	}
	return a
}

// isReferenceAttr reports whether a log attribute is a reference, logged exactly: an Eko or
// partner reference (isReferenceKey), ours, a reference of a stored request, or a workflow ID.
func isReferenceAttr(k string) bool {
	switch k {
	case "our_client_ref_id", "reference", "workflow_id", "txn_id":
		return true
	}
	return isReferenceKey(k)
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
