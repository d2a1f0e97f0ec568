// Package sign computes and checks the signatures Eko's AePS gateway and API expect.
//
// Eko keys its HMAC with the base64 *text* of the access key (not the decoded bytes): a common
// integration mistake, so the key is derived once here and nowhere else.
package sign

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Signer signs with one access key. Its zero value is not usable; build it with NewSigner.
type Signer struct {
	key []byte // ASCII bytes of base64(access key)
}

// NewSigner returns a Signer for the given access key.
func NewSigner(accessKey string) *Signer {
	return &Signer{key: []byte(base64.StdEncoding.EncodeToString([]byte(accessKey)))}
}

// String keeps the key out of any formatted output.
func (s *Signer) String() string { return "sign.Signer([redacted])" }

// GoString keeps the key out of %#v, which would otherwise print the struct's bytes.
func (s *Signer) GoString() string { return s.String() }

// LogValue keeps the key out of slog output.
func (s *Signer) LogValue() slog.Value { return slog.StringValue("[redacted]") }

func (s *Signer) mac(msg string) string {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// SecretKey returns base64(HMAC-SHA256(base64(accessKey), timestamp)).
func (s *Signer) SecretKey(timestamp string) string { return s.mac(timestamp) }

// RequestHash signs timestamp followed by data[p] for each p in params, in order, skipping names
// absent from data. Values must be the exact strings received: "100" and "100.00" sign differently.
func (s *Signer) RequestHash(timestamp string, params []string, data map[string]string) string {
	return s.mac(RequestSignature(timestamp, params, data))
}

// RequestSignature is the plain text that RequestHash signs; exposed for diagnostics and tests.
func RequestSignature(timestamp string, params []string, data map[string]string) string {
	var b strings.Builder
	b.WriteString(timestamp)
	for _, p := range params {
		if v, ok := data[p]; ok {
			b.WriteString(v)
		}
	}
	return b.String()
}

// VerifySecretKey reports, in constant time, whether secretKey is the one for timestamp.
func (s *Signer) VerifySecretKey(timestamp, secretKey string) bool {
	return hmac.Equal([]byte(s.SecretKey(timestamp)), []byte(secretKey))
}

// VerifyRequestHash reports, in constant time, whether hash signs timestamp, params and data.
func (s *Signer) VerifyRequestHash(timestamp string, params []string, data map[string]string, hash string) bool {
	return hmac.Equal([]byte(s.RequestHash(timestamp, params, data)), []byte(hash))
}

// Timestamp formats t as Eko expects: Unix milliseconds in decimal.
func Timestamp(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
