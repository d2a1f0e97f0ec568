// Package launchtoken mints and checks short-lived per-agent launch tokens: an agent's browser
// presents one to POST /v1/gateway/session to launch Eko's gateway for that agent only, without
// holding any platform secret.
//
// A token is "lt1.<user_code>.<expiry in Unix seconds>.<mac>", where mac is the unpadded base64url
// HMAC-SHA256, keyed with GATEWAY_LAUNCH_KEY, of everything before it. It is a bearer token: it is
// bound to one user_code and expires, but can be replayed until then, so its lifetime is short.
package launchtoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Prefix starts every launch token (and tells it apart from GATEWAY_TOKEN).
const Prefix = "lt1."

// userCode is the agents table's rule for user_code; '.' is not in it, so it cannot split a token.
var userCode = regexp.MustCompile(`^[0-9A-Za-z_-]{1,32}$`)

// Errors Verify returns; the session endpoint answers each with its own message.
var (
	ErrMalformed = errors.New("launch token is malformed")
	ErrSignature = errors.New("launch token signature is invalid")
	ErrExpired   = errors.New("launch token has expired")
)

// ValidUserCode reports whether s can be an agent's user_code.
func ValidUserCode(s string) bool { return userCode.MatchString(s) }

// Mint returns a token for userCode that expires at expires (whole seconds).
func Mint(key []byte, code string, expires time.Time) (string, error) {
	if len(key) == 0 {
		return "", errors.New("launch tokens are not configured (GATEWAY_LAUNCH_KEY)")
	}
	if !ValidUserCode(code) {
		return "", fmt.Errorf("user_code %q is not valid", code)
	}
	body := Prefix + code + "." + strconv.FormatInt(expires.Unix(), 10)
	return body + "." + mac(key, body), nil
}

// Verify checks token's signature and expiry at now and returns the user_code and expiry it binds.
func Verify(key []byte, token string, now time.Time) (string, time.Time, error) {
	if len(key) == 0 {
		return "", time.Time{}, errors.New("launch tokens are not configured (GATEWAY_LAUNCH_KEY)")
	}
	rest, ok := strings.CutPrefix(token, Prefix)
	parts := strings.Split(rest, ".")
	if !ok || len(parts) != 3 || !ValidUserCode(parts[0]) {
		return "", time.Time{}, ErrMalformed
	}
	sec, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || sec <= 0 {
		return "", time.Time{}, ErrMalformed
	}
	body := Prefix + parts[0] + "." + parts[1]
	// Signature first, in constant time: nothing about an unsigned token is trusted, not even
	// its expiry.
	if !hmac.Equal([]byte(mac(key, body)), []byte(parts[2])) {
		return "", time.Time{}, ErrSignature
	}
	exp := time.Unix(sec, 0)
	if !now.Before(exp) {
		return "", time.Time{}, ErrExpired
	}
	return parts[0], exp, nil
}

func mac(key []byte, body string) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(body))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}
