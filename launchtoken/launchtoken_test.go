package launchtoken

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestMintVerify(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_700_000_000, 0)
	tok, err := Mint(key, "20810200", now.Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "lt1.20810200.1700000600.") {
		t.Fatalf("token %q", tok)
	}
	code, exp, err := Verify(key, tok, now)
	if err != nil || code != "20810200" || !exp.Equal(now.Add(10*time.Minute)) {
		t.Fatalf("Verify = %q, %v, %v", code, exp, err)
	}
	parts := strings.Split(tok, ".")
	tests := []struct {
		name  string
		key   []byte
		token string
		now   time.Time
		want  error
	}{
		{"expired at its expiry", key, tok, now.Add(10 * time.Minute), ErrExpired},
		{"other key", []byte("another-key-0123456789abcdef01234"), tok, now, ErrSignature},
		{"user_code swapped", key, "lt1.20810201." + parts[2] + "." + parts[3], now, ErrSignature},
		{"expiry extended", key, "lt1.20810200.1800000000." + parts[3], now, ErrSignature},
		{"signature cut", key, tok[:len(tok)-1], now, ErrSignature},
		{"no prefix", key, strings.TrimPrefix(tok, "lt1."), now, ErrMalformed},
		{"extra part", key, tok + ".x", now, ErrMalformed},
		{"bad user_code", key, "lt1.a/b.1700000600." + parts[3], now, ErrMalformed},
		{"bad expiry", key, "lt1.20810200.soon." + parts[3], now, ErrMalformed},
		{"empty", key, "", now, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := Verify(tt.key, tt.token, tt.now); !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
	if _, _, err := Verify(nil, tok, now); err == nil {
		t.Error("a token verified without a key")
	}
	if _, err := Mint(key, "a.b", now); err == nil {
		t.Error("minted for an invalid user_code")
	}
}
