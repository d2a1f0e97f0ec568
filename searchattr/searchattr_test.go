package searchattr_test

import (
	"flag"
	"os"
	"reflect"
	"testing"

	"github.com/aepsflow/aepsflow/searchattr"
)

var update = flag.Bool("update", false, "rewrite "+generated+" from the Go list")

// generated is read by scripts/temporal.sh and mounted into docker-compose's registration job,
// neither of which can run Go.
const generated = "../scripts/search-attributes.txt"

const header = "# Custom search attributes, \"Name Type\": generated from package searchattr, do not edit.\n" +
	"# Regenerate with: go test ./searchattr -update\n"

// TestGeneratedFileInSync fails when the file the scripts read differs from the Go list.
func TestGeneratedFileInSync(t *testing.T) {
	want := header + searchattr.Lines()
	if *update {
		if err := os.WriteFile(generated, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(generated)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s is out of date; run: go test ./searchattr -update\ngot:\n%s\nwant:\n%s", generated, got, want)
	}
}

// TestKeysNamedAfterFields: every key carries its field's name, the name recorded in workflow
// histories and registered on the server.
func TestKeysNamedAfterFields(t *testing.T) {
	all := searchattr.All()
	typ := reflect.TypeFor[searchattr.Keys]()
	if len(all) != typ.NumField() {
		t.Fatalf("All() has %d keys, Keys has %d fields", len(all), typ.NumField())
	}
	for i, k := range all {
		if name := typ.Field(i).Name; k.GetName() != name {
			t.Errorf("key %d is named %q, want %q", i, k.GetName(), name)
		}
	}
	if got := searchattr.Key.TxState.GetName(); got != "TxState" {
		t.Errorf("Key.TxState is named %q", got)
	}
}
