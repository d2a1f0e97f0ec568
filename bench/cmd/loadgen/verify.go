package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"
)

// ekoMAC computes Eko's signature without package eko/sign, so that the load generator checks the
// service's replies against an independent implementation: HMAC-SHA256 keyed with the base64
// *text* of the access key, over msg, base64-encoded.
func ekoMAC(accessKey, msg string) []byte {
	key := base64.StdEncoding.EncodeToString([]byte(accessKey))
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return []byte(base64.StdEncoding.EncodeToString(m.Sum(nil)))
}

// checkAllowReply verifies an allow reply's secret_key and request_hash over the values sent (in
// request_hash_params order, absent ones skipped) and the timestamp's freshness.
func checkAllowReply(accessKey, ts, secretKey, requestHash string, params []string, data map[string]string, now time.Time) error {
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("secret_key_timestamp %q is not Unix milliseconds", ts)
	}
	if skew := now.Sub(time.UnixMilli(ms)); skew.Abs() > 5*time.Minute {
		return fmt.Errorf("secret_key_timestamp is %s away from now", skew)
	}
	if !hmac.Equal(ekoMAC(accessKey, ts), []byte(secretKey)) {
		return fmt.Errorf("secret_key does not verify")
	}
	msg := ts
	for _, p := range params {
		if v, ok := data[p]; ok {
			msg += v
		}
	}
	if !hmac.Equal(ekoMAC(accessKey, msg), []byte(requestHash)) {
		return fmt.Errorf("request_hash does not verify")
	}
	return nil
}
