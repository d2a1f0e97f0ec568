package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aepsflow/aepsflow/config"
	"github.com/aepsflow/aepsflow/launchtoken"
)

const gatewayUsage = `usage: aepsflow gateway token --user-code CODE [--ttl 10m]

Prints a launch token for one agent: its browser sends it as "Authorization: Bearer <token>" to
POST /v1/gateway/session, which then opens the gateway for that agent only, until the token
expires. Signed with GATEWAY_LAUNCH_KEY (in APP_ENV=development, a built-in development key).
The token goes to stdout, its expiry to stderr. The agent is checked when the token is used.`

// gatewayCommand mints launch tokens offline: it needs only the launch key, not the database.
func gatewayCommand(args []string, stdout, stderr io.Writer, getenv func(string) string, now time.Time) error {
	if len(args) < 1 || args[0] != "token" {
		return errors.New(gatewayUsage)
	}
	fs := flag.NewFlagSet("gateway token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user-code", "", "agent user_code (required)")
	ttl := fs.Duration("ttl", 10*time.Minute, "lifetime of the token (at most 1h)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	key := strings.TrimSpace(getenv("GATEWAY_LAUNCH_KEY"))
	if key == "" && getenv("APP_ENV") == "development" {
		key = config.DevLaunchKey
	}
	switch {
	case key == "":
		return errors.New("GATEWAY_LAUNCH_KEY is not set (launch tokens are off)")
	case len(key) < 32:
		return errors.New("GATEWAY_LAUNCH_KEY must be at least 32 characters")
	case *user == "":
		return errors.New(gatewayUsage)
	case *ttl <= 0 || *ttl > time.Hour:
		return errors.New("--ttl must be between 1s and 1h")
	}
	exp := now.Add(*ttl).Truncate(time.Second)
	tok, err := launchtoken.Mint([]byte(key), *user, exp)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	fmt.Fprintf(stderr, "launch token for agent %s, valid until %s\n", *user, exp.UTC().Format(time.RFC3339))
	return nil
}
