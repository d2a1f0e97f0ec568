package e2e_test

import (
	"testing"

	"github.com/aepsflow/aepsflow/apptest"
)

// TestGatewayAccessKeySetApart: with EKO_GATEWAY_ACCESS_KEY set, debit-hook replies are signed with
// it (the gateway checks them with that key) while the Transaction Inquiry is still signed with
// EKO_ACCESS_KEY (the simulator refuses any other with 403).
func TestGatewayAccessKeySetApart(t *testing.T) {
	t.Parallel()
	const gatewayKey = "5f0c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f"
	s := start(t, "v3", map[string]string{"EKO_GATEWAY_ACCESS_KEY": gatewayKey})
	s.gw.AccessKey = gatewayKey
	ref := apptest.Ref(t)
	s.script(t, ref, "0")
	s.debitHook(t, ref) // fails unless secret_key and request_hash verify with gatewayKey
	s.ekoResponse(t, ref, "0")
	s.waitState(t, ref, "success") // the verifying inquiry passed the simulator's signature check
	if n := s.sim.Calls(ref); n < 1 {
		t.Fatalf("inquiry calls = %d, want at least 1", n)
	}
}
