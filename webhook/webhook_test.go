package webhook

import (
	"errors"
	"testing"
	"time"
)

// The documented test vector (docs/platform-events.md), computed independently with Python's hmac.
const (
	vectorSecret = "aepsflow-test-secret"
	vectorTime   = 1767225600
	vectorBody   = `{"event_id":"evt_0123","type":"transaction.succeeded","amount":"100.00"}`
	vectorHeader = "t=1767225600,v1=b4f8aa6636047bc57260401a662954734a303de33c1978e3c910b7d4ca5575a2"
)

func TestSignVector(t *testing.T) {
	if got := Sign([]byte(vectorSecret), vectorTime, []byte(vectorBody)); got != vectorHeader {
		t.Fatalf("Sign = %s, want %s", got, vectorHeader)
	}
}

func TestVerify(t *testing.T) {
	at := time.Unix(vectorTime, 0)
	tests := []struct {
		name   string
		header string
		body   string
		now    time.Time
		ok     bool
	}{
		{"vector", vectorHeader, vectorBody, at, true},
		{"within tolerance", vectorHeader, vectorBody, at.Add(4 * time.Minute), true},
		{"second v1 matches", "t=1767225600,v1=00,v1=b4f8aa6636047bc57260401a662954734a303de33c1978e3c910b7d4ca5575a2", vectorBody, at, true},
		{"body changed", vectorHeader, vectorBody + " ", at, false},
		{"amount changed", vectorHeader, `{"event_id":"evt_0123","type":"transaction.succeeded","amount":"1000.00"}`, at, false},
		{"replayed later", vectorHeader, vectorBody, at.Add(6 * time.Minute), false},
		{"no time", "v1=b4f8", vectorBody, at, false},
		{"no signature", "t=1767225600", vectorBody, at, false},
		{"empty", "", vectorBody, at, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify([]byte(vectorSecret), tc.header, []byte(tc.body), tc.now, DefaultTolerance)
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrSignature)) {
				t.Fatalf("Verify = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestEventID(t *testing.T) {
	a := EventID("aeps/eko/1", TypeSucceeded)
	if a != EventID("aeps/eko/1", TypeSucceeded) || a == EventID("aeps/eko/1", TypeReversed) || a == EventID("aeps/eko/2", TypeSucceeded) || len(a) != 36 {
		t.Fatalf("event ids not stable per transaction and type: %s", a)
	}
}
