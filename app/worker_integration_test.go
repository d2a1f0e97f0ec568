package app_test

import (
	"context"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/aepsflow/aepsflow/app"
	"github.com/aepsflow/aepsflow/config"
	"github.com/aepsflow/aepsflow/searchattr"
	"github.com/aepsflow/aepsflow/testenv"
)

// missingRE picks the list of attributes out of CheckSearchAttributes' error.
var missingRE = regexp.MustCompile(`lacks search attributes (.+?): register them`)

// TestNewWorkerRefusesMissingSearchAttributes: app.NewWorker (what `aepsflow worker` runs) refuses
// to build a worker on a namespace where a search attribute the workflow upserts is not registered
// with its type, and names exactly the ones missing or of the wrong type; on a server with all of
// them it builds the worker. Each case runs against a private dev server started with just the
// listed attributes.
func TestNewWorkerRefusesMissingSearchAttributes(t *testing.T) {
	// spec gives each named attribute its own type, "Name=Type".
	types := map[string]string{}
	var all []string
	for _, k := range searchattr.All() {
		types[k.GetName()] = k.GetValueType().String()
		all = append(all, k.GetName())
	}
	spec := func(names ...string) []string {
		var attrs []string
		for _, n := range names {
			attrs = append(attrs, n+"="+types[n])
		}
		return attrs
	}
	except := func(skip ...string) []string {
		return slices.DeleteFunc(slices.Clone(all), func(n string) bool { return slices.Contains(skip, n) })
	}
	tests := []struct {
		name        string
		attrs       []string // registered at server start, "Name=Type"
		wantMissing []string // "Name=Type"; nil: the worker is built
	}{
		{name: "none registered", attrs: nil, wantMissing: spec(all...)},
		{name: "two not registered", attrs: spec(except("TxState", "TxProvider")...),
			wantMissing: spec("TxState", "TxProvider")},
		{name: "one registered as Text", attrs: append(spec(except("TxState")...), "TxState=Text"),
			wantMissing: spec("TxState")},
		{name: "all registered with their types", attrs: spec(all...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testenv.StartDevServerWithSearchAttributes(t, "", tt.attrs...)
			tc, err := client.Dial(client.Options{HostPort: srv.Address(), Namespace: "default",
				Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))})
			if err != nil {
				t.Fatalf("dial %s: %v", srv.Address(), err)
			}
			defer tc.Close()
			cfg := config.Config{TemporalNamespace: "default", TemporalTaskQueue: "aepsflow-searchattrs-test"}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			// Store and inquirer are only handed to the activities; the check comes first.
			w, err := app.NewWorker(ctx, cfg, nil, tc, nil)
			if tt.wantMissing == nil {
				if err != nil || w == nil {
					t.Fatalf("NewWorker on a server with every attribute: worker %v, err %v", w, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("NewWorker built a worker although %v are missing", tt.wantMissing)
			}
			msg := err.Error()
			t.Logf("error: %s", msg)
			for _, want := range []string{"refusing to run the worker", "namespace default",
				"temporal operator search-attribute create --namespace default"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
			m := missingRE.FindStringSubmatch(msg)
			if m == nil {
				t.Fatalf("error %q does not list the missing attributes", msg)
			}
			got := strings.Split(m[1], ", ")
			want := slices.Clone(tt.wantMissing)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("error names %v as missing, want exactly %v", got, want)
			}
		})
	}
}
