package txstate

import "testing"

// TestContradictsEko is the late-report rule: money moved (0) against no money moved (1, 3, 4),
// as the workflow compares reports; 2, 5 and anything undocumented report no outcome.
func TestContradictsEko(t *testing.T) {
	finals := []State{Success, Failed, Reversed, Expired}
	// want[final][tx_status]: flagged.
	want := map[State]map[string]bool{
		Success:  {"0": false, "1": true, "2": false, "3": true, "4": true, "5": false, "": false, "9": false},
		Failed:   {"0": true, "1": false, "2": false, "3": false, "4": false, "5": false, "": false, "9": false},
		Reversed: {"0": true, "1": false, "2": false, "3": false, "4": false, "5": false, "": false, "9": false},
		Expired:  {"0": true, "1": false, "2": false, "3": false, "4": false, "5": false, "": false, "9": false},
	}
	for _, final := range finals {
		for tx, flagged := range want[final] {
			if got := ContradictsEko(final, tx); got != flagged {
				t.Errorf("ContradictsEko(%s, %q) = %v, want %v", final, tx, got, flagged)
			}
		}
	}
	// States that are not final contradict nothing.
	for _, state := range []State{Pending, Inquiry, ReversalPending, Unknown, NeedsReview, ""} {
		for _, tx := range []string{"0", "1", "3", "4"} {
			if ContradictsEko(state, tx) {
				t.Errorf("ContradictsEko(%q, %q) = true for a state that is not final", state, tx)
			}
		}
	}
}

func TestContradicts(t *testing.T) {
	tests := []struct {
		final, reported State
		want            bool
	}{
		{Success, Success, false},
		{Success, Failed, true},
		{Success, "", false},
		{Failed, Success, true},
		{Failed, Failed, false},
		{Reversed, Failed, false},
		{Reversed, Success, true},
		{Expired, Success, true},
		{Expired, Failed, false},
		{NeedsReview, Success, false},
		{Success, Unknown, false},
	}
	for _, tt := range tests {
		if got := Contradicts(tt.final, tt.reported); got != tt.want {
			t.Errorf("Contradicts(%s, %q) = %v, want %v", tt.final, tt.reported, got, tt.want)
		}
	}
}

func TestClasses(t *testing.T) {
	for tx, want := range map[string]string{"0": MoneyMoved, "1": NoMoneyMoved, "3": NoMoneyMoved, "4": NoMoneyMoved,
		"2": "", "5": "", "": "", "0.0": "", " 0": ""} {
		if got := EkoClass(tx); got != want {
			t.Errorf("EkoClass(%q) = %q, want %q", tx, got, want)
		}
	}
	for _, state := range []State{Success, Failed, Reversed, Expired, Pending, Inquiry, ReversalPending, Unknown, NeedsReview} {
		if (StateClass(state) != "") != IsFinal(state) {
			t.Errorf("StateClass(%s) = %q: every final state, and only those, has a class", state, StateClass(state))
		}
	}
}

// TestReportClass: a report is delivered to the workflow only when its class is new, so two
// statuses share a class exactly when the workflow acts on them alike.
func TestReportClass(t *testing.T) {
	for _, tc := range []struct{ a, b string }{{"2", ""}, {"5", "9"}, {"7", "x"}, {"0.0", "5"}} {
		if ReportClass(tc.a) != ReportClass(tc.b) {
			t.Errorf("ReportClass(%q) = %q, ReportClass(%q) = %q: want one class", tc.a, ReportClass(tc.a), tc.b, ReportClass(tc.b))
		}
	}
	// Each status that moves the workflow somewhere else has its own class.
	seen := map[string]string{}
	for _, tx := range []string{"0", "1", "2", "3", "4", "9"} {
		c := ReportClass(tx)
		if other, dup := seen[c]; dup {
			t.Errorf("tx_status %q and %q share class %q", tx, other, c)
		}
		seen[c] = tx
	}
}
