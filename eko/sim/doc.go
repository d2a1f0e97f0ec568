// Package sim is a stand-in for Eko's side of an AePS transaction, for tests, demos and load:
//
//   - Gateway acts as Eko's gateway page in the agent's browser: it sends the CORS preflight and
//     the debit-hook to our callback URL, verifies the reply's secret_key and request_hash exactly
//     as Eko would, and sends the eko-response.
//   - InquiryServer is Eko's Transaction Inquiry API (v3 and v1 URL forms), with the same header
//     authentication and a per-reference script of answers (pending N times, then final; not
//     found; HTTP errors; slow answers; garbage), plus a small HTTP control API to script it from
//     a shell.
//
// Everything here follows Eko's protocol as docs/eko-aeps.md describes it; where Eko documents
// nothing (a 403 body, the envelope status of a failed eko-response), the choice is marked as
// such in a comment and kept simple. There is no package-level mutable state: every value is
// owned by a Gateway or an InquiryServer, and both are safe for concurrent use.
package sim

import "time"

// Known values from Eko's guide and its public UAT credentials (docs/eko-aeps.md).
const (
	// UATOrigin is the origin of Eko's UAT gateway page; ProductionOrigin that of production.
	UATOrigin        = "https://stagegateway.eko.in"
	ProductionOrigin = "https://gateway.eko.in"

	// DevAccessKey and DevDeveloperKey are Eko's public UAT credentials: the service's defaults
	// under APP_ENV=development (EKO_ACCESS_KEY, EKO_DEVELOPER_KEY). The simulator must use the
	// same access key as the service it talks to.
	DevAccessKey    = "d2fe1d99-6298-4af2-8cc5-d97dcf46df30"
	DevDeveloperKey = "becbbce45f79c6f5109f848acd540567"

	// GatewayStagingKey is the AePS gateway staging key printed in Eko's guide. The guide's sample
	// reply is signed with it; a server configured with it would need the simulator to be too.
	GatewayStagingKey = "f74c50a1-f705-4634-9cda-30a477df91b7"

	// DefaultMaxSkew is how far a secret_key_timestamp may be from the simulator's clock.
	// Eko documents only that a stale timestamp is refused, not the window.
	DefaultMaxSkew = 5 * time.Minute

	// Default mount points of the Inquiry API's two versions and of the control API.
	DefaultV3Prefix      = "/ekoapi/v3"
	DefaultV1Prefix      = "/ekoapi/v1"
	DefaultControlPrefix = "/sim"
)
