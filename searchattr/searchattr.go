// Package searchattr names, once, the custom search attributes that transaction workflows set, so
// that operators can filter them in the Temporal Web UI. Every other place takes the list from
// here: the worker's start-up check (package app), the test servers (package testenv), and, through
// `aepsflow search-attributes` and the file it generates, scripts/temporal.sh and docker-compose.yml.
package searchattr

import (
	"fmt"
	"reflect"

	"go.temporal.io/sdk/temporal"
)

// Keys has one typed key per custom search attribute; a field's name is the attribute's name and
// its type the attribute's type. Adding an attribute is adding a field.
type Keys struct {
	ClientRefID   temporal.SearchAttributeKeyKeyword
	AgentUserCode temporal.SearchAttributeKeyKeyword
	TxType        temporal.SearchAttributeKeyKeyword
	TxState       temporal.SearchAttributeKeyKeyword
	TxProvider    temporal.SearchAttributeKeyKeyword
	// TxAmount is the amount in rupees, for the list's column and range filters
	// (`TxAmount >= 5000`). A Double: a Keyword would compare as text ("900" > "5000"), and rupees
	// with at most two decimals below 10^13 come back from a float64 as the exact decimal that
	// was set. It is an index only: the exact amount stays in PostgreSQL and the input.
	TxAmount temporal.SearchAttributeKeyFloat64
	// TxFlagged is set once the workflow flags the transaction (a late report contradicting
	// its final state).
	TxFlagged temporal.SearchAttributeKeyBool
	// TxReason is the class of the state's reason (workflows.ReasonClass): response_timeout,
	// inquiry_failed, reports_disagree, ...
	TxReason temporal.SearchAttributeKeyKeyword
	// TxProviderTxnID is the provider's own transaction ID: Eko's tid, a partner's txnId.
	TxProviderTxnID temporal.SearchAttributeKeyKeyword
}

// Key holds the keys, filled from the field names of Keys. Read it, never assign to it.
var Key = newKeys()

// All lists every custom search attribute, in the order of the fields of Keys.
func All() []temporal.SearchAttributeKey {
	v := reflect.ValueOf(Key)
	all := make([]temporal.SearchAttributeKey, v.NumField())
	for i := range all {
		all[i] = v.Field(i).Interface().(temporal.SearchAttributeKey)
	}
	return all
}

// Lines is the list as `aepsflow search-attributes` prints it: "Name Type", one a line, with the
// type as the Temporal CLI takes it (`--search-attribute Name=Type`, `search-attribute create --type`).
func Lines() string {
	var s string
	for _, k := range All() {
		s += k.GetName() + " " + k.GetValueType().String() + "\n" // the CLI's spelling: Keyword, Bool, ...
	}
	return s
}

func newKeys() Keys {
	var k Keys
	v := reflect.ValueOf(&k).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		v.Field(i).Set(reflect.ValueOf(newKey(f.Type, f.Name)))
	}
	return k
}

func newKey(t reflect.Type, name string) any {
	switch t {
	case reflect.TypeFor[temporal.SearchAttributeKeyString]():
		return temporal.NewSearchAttributeKeyString(name)
	case reflect.TypeFor[temporal.SearchAttributeKeyKeyword]():
		return temporal.NewSearchAttributeKeyKeyword(name)
	case reflect.TypeFor[temporal.SearchAttributeKeyBool]():
		return temporal.NewSearchAttributeKeyBool(name)
	case reflect.TypeFor[temporal.SearchAttributeKeyInt64]():
		return temporal.NewSearchAttributeKeyInt64(name)
	case reflect.TypeFor[temporal.SearchAttributeKeyFloat64]():
		return temporal.NewSearchAttributeKeyFloat64(name)
	case reflect.TypeFor[temporal.SearchAttributeKeyTime]():
		return temporal.NewSearchAttributeKeyTime(name)
	case reflect.TypeFor[temporal.SearchAttributeKeyKeywordList]():
		return temporal.NewSearchAttributeKeyKeywordList(name)
	}
	panic(fmt.Sprintf("searchattr: field %s has type %s, which is not a temporal.SearchAttributeKey*", name, t))
}
