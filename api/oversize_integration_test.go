package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aepsflow/aepsflow/apptest"
)

// TestOversizeBodyIsNotReadToTheEnd: a client that streams a body past the limit, declared or not,
// and never finishes it still gets its 413 at once, and the part kept is stored. The server must
// not wait for (or take in) the rest.
func TestOversizeBodyIsNotReadToTheEnd(t *testing.T) {
	t.Parallel()
	const maxBody = 2048
	a := apptest.Start(t, apptest.Options{NoWorker: true, NoRelay: true, Env: map[string]string{"MAX_BODY_BYTES": "2048"}})

	for _, tt := range []struct {
		name          string
		contentLength int64 // -1: chunked, no declared length
	}{
		{"declared length", 10 << 20},
		{"chunked", -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			marker := newMarker(t)
			head := `{"action":"debit-hook","marker":"` + marker + `","detail":{"pad":"` + strings.Repeat("x", maxBody) + `"`
			pr, pw := io.Pipe()
			defer pw.Close() // the rest of the body never comes
			go func() { _, _ = pw.Write([]byte(head)) }()

			req, err := http.NewRequest(http.MethodPost, a.URL+callbackPath, pr)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.ContentLength = tt.contentLength
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			resp, err := http.DefaultClient.Do(req.WithContext(ctx))
			if err != nil {
				t.Fatalf("no reply while the body was still open: %v", err)
			}
			defer resp.Body.Close()
			var r reply
			if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusRequestEntityTooLarge || !r.isRefusal() {
				t.Fatalf("status %d reply %+v, want 413 and a refusal", resp.StatusCode, r)
			}
			in := inboundByMarker(t, a, marker)
			want := int64(maxBody + 1) // chunked: what was read
			if tt.contentLength > 0 {
				want = tt.contentLength
			}
			if in.Outcome != "too_large" || !in.Truncated || in.BodySize != want ||
				!bytes.Equal(in.Body, []byte(head[:maxBody])) {
				t.Errorf("stored outcome %q truncated %v size %d (want %d), kept %d bytes", in.Outcome, in.Truncated, in.BodySize, want, len(in.Body))
			}
		})
	}
}
