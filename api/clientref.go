package api

import (
	"crypto/rand"
	"fmt"
)

// NewClientRefID generates our own client_ref_id: "AF" and 18 random characters, 20 in all (Eko's
// limit). The letters keep it apart from Eko's numeric references, and 90 random bits make a
// collision negligible; the unique constraint turns one into a retry anyway.
func NewClientRefID() (string, error) {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ" // Crockford base32: no I, L, O, U
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	for i := range b {
		b[i] = alphabet[b[i]&31]
	}
	return "AF" + string(b), nil
}
