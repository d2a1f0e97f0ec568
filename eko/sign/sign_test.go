package sign

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// Known-answer vectors published by Eko and its SDKs (docs/eko-aeps.md#signing).
func TestSecretKeyVectors(t *testing.T) {
	tests := []struct{ accessKey, ts, want string }{
		{"f74c50a1-f705-4634-9cda-30a477df91b7", "1540880719963", "4CKAzpT/B44CnhXM01pRnZELcGKWOhvbZg7TqoGDIrA="},
		{"f74c50a1-f705-4634-9cda-30a477df91b7", "1585999782835", "y4aNr2cuSuaX2fCsfXMVopqvaZtx9MKHCcsF73fHxvc="},
		{"f74c50a1-f705-4634-9cda-30a477df91b7", "1532582133692", "dCUujUywtuu86CyoHkZZzBjLUAVC365e6PLaa4UYwqM="},
		{"f74c50a1-f705-4634-9cda-30a477df91b7", "1516705204593", "MC6dKW278tBef+AuqL/5rW2K3WgOegF0ZHLW/FriZQw="},
		{"TEST_ACCESS_KEY_DO_NOT_USE", "1700000000000", "u30ak/iOGwKCaspqCeiYng8fd98QDx7kF3DBBOadQHk="},
		{"test-access-key-123", "1700000000000", "88lqTf9ew69XbVbeczjxVL8/B4vibfp1MvTi1mIj2Xo="},
	}
	for _, tt := range tests {
		t.Run(tt.accessKey+"/"+tt.ts, func(t *testing.T) {
			s := NewSigner(tt.accessKey)
			if got := s.SecretKey(tt.ts); got != tt.want {
				t.Fatalf("SecretKey = %q, want %q", got, tt.want)
			}
			if !s.VerifySecretKey(tt.ts, tt.want) {
				t.Fatal("VerifySecretKey rejected the published vector")
			}
			if s.VerifySecretKey(tt.ts+"1", tt.want) {
				t.Fatal("VerifySecretKey accepted another timestamp")
			}
		})
	}
}

// independentHash recomputes request_hash from scratch, the way Eko's guide describes it.
func independentHash(accessKey, msg string) string {
	h := hmac.New(sha256.New, []byte(base64.StdEncoding.EncodeToString([]byte(accessKey))))
	h.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func TestRequestHash(t *testing.T) {
	const key = "f74c50a1-f705-4634-9cda-30a477df91b7"
	const ts = "1532582133692"
	cw := map[string]string{"customer_id": "9999999999", "bank_code": "PUNB", "type": "2", "user_code": "20810200", "amount": "2000"}
	bi := map[string]string{"customer_id": "9999999999", "bank_code": "PUNB", "type": "3", "user_code": "20810200"}
	tests := []struct {
		name    string
		params  []string
		data    map[string]string
		wantMsg string
	}{
		{"guide cash withdrawal", []string{"customer_id", "amount", "user_code"}, cw, "15325821336929999999999200020810200"},
		{"guide balance inquiry skips absent amount", []string{"customer_id", "amount", "user_code"}, bi, "1532582133692999999999920810200"},
		{"order matters", []string{"user_code", "amount", "customer_id"}, cw, "15325821336922081020020009999999999"},
		{"empty params sign the timestamp alone", nil, cw, ts},
		{"all absent", []string{"x", "y"}, cw, ts},
		{"exact strings: 100.00 is not 100", []string{"amount"}, map[string]string{"amount": "100.00"}, ts + "100.00"},
		{"empty value is present", []string{"amount", "user_code"}, map[string]string{"amount": "", "user_code": "1"}, ts + "1"},
		{"repeated name appends twice", []string{"amount", "amount"}, map[string]string{"amount": "50"}, ts + "5050"},
	}
	s := NewSigner(key)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RequestSignature(ts, tt.params, tt.data); got != tt.wantMsg {
				t.Fatalf("signature text = %q, want %q", got, tt.wantMsg)
			}
			want := independentHash(key, tt.wantMsg)
			got := s.RequestHash(ts, tt.params, tt.data)
			if got != want {
				t.Fatalf("RequestHash = %q, want %q", got, want)
			}
			if !s.VerifyRequestHash(ts, tt.params, tt.data, want) {
				t.Fatal("VerifyRequestHash rejected a correct hash")
			}
		})
	}
	if s.RequestHash(ts, []string{"amount"}, map[string]string{"amount": "100"}) ==
		s.RequestHash(ts, []string{"amount"}, map[string]string{"amount": "100.00"}) {
		t.Fatal("re-formatted amounts must sign differently")
	}
}

func TestSignerNeverPrintsKey(t *testing.T) {
	s := NewSigner("super-secret-access-key")
	var buf strings.Builder
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "signer", s)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, s, s, s), buf.String()} {
		if strings.Contains(out, "super-secret") || strings.Contains(out, base64.StdEncoding.EncodeToString([]byte("super-secret-access-key"))) {
			t.Fatalf("key leaked: %q", out)
		}
	}
}

func TestTimestamp(t *testing.T) {
	if got := Timestamp(time.UnixMilli(1540880719963)); got != "1540880719963" {
		t.Fatalf("Timestamp = %q", got)
	}
}
