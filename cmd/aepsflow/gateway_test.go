package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/aepsflow/aepsflow/config"
	"github.com/aepsflow/aepsflow/launchtoken"
)

// TestGatewayTokenCommand: `aepsflow gateway token` prints a launch token bound to the agent,
// signed with GATEWAY_LAUNCH_KEY, with the lifetime asked; and refuses without a usable key.
func TestGatewayTokenCommand(t *testing.T) {
	const key = "cli-test-launch-key-0123456789abcdef"
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		key     string // verifies the printed token; "" when an error is wanted
		ttl     time.Duration
		wantErr string
	}{
		{"GATEWAY_LAUNCH_KEY", []string{"token", "--user-code", "20810200"}, map[string]string{"GATEWAY_LAUNCH_KEY": key}, key, 10 * time.Minute, ""},
		{"own ttl", []string{"token", "--user-code", "20810200", "--ttl", "90s"}, map[string]string{"GATEWAY_LAUNCH_KEY": key}, key, 90 * time.Second, ""},
		{"development key", []string{"token", "--user-code", "20810200"}, map[string]string{"APP_ENV": "development"}, config.DevLaunchKey, 10 * time.Minute, ""},
		{"no key in production", []string{"token", "--user-code", "20810200"}, map[string]string{}, "", 0, "GATEWAY_LAUNCH_KEY is not set"},
		{"short key", []string{"token", "--user-code", "20810200"}, map[string]string{"GATEWAY_LAUNCH_KEY": "short"}, "", 0, "at least 32"},
		{"no user code", []string{"token"}, map[string]string{"GATEWAY_LAUNCH_KEY": key}, "", 0, "usage"},
		{"bad user code", []string{"token", "--user-code", "a.b"}, map[string]string{"GATEWAY_LAUNCH_KEY": key}, "", 0, "not valid"},
		{"ttl too long", []string{"token", "--user-code", "20810200", "--ttl", "2h"}, map[string]string{"GATEWAY_LAUNCH_KEY": key}, "", 0, "--ttl"},
		{"no subcommand", nil, map[string]string{"GATEWAY_LAUNCH_KEY": key}, "", 0, "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := gatewayCommand(tt.args, &out, &errOut, func(k string) string { return tt.env[k] }, now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			user, exp, err := launchtoken.Verify([]byte(tt.key), strings.TrimSpace(out.String()), now)
			if err != nil || user != "20810200" || !exp.Equal(now.Add(tt.ttl)) {
				t.Fatalf("token %q: %s %s %v", out.String(), user, exp, err)
			}
			if !strings.Contains(errOut.String(), "valid until") {
				t.Errorf("stderr %q", errOut.String())
			}
		})
	}
}
