// Package ident holds the rule for identifiers that aepsflow keys transactions on (Eko's
// client_ref_id, the partner's ClientRefID, agent user codes): the protocols say only how long
// they may be, but what we key on must be storable and unambiguous.
package ident

import (
	"unicode"
	"unicode/utf8"
)

// Printable reports whether s is valid UTF-8 made only of printable characters (unicode.IsPrint:
// no control or format characters, no space but ASCII's). A NUL cannot be stored in PostgreSQL
// text at all, and an invisible character makes a lookalike key. U+FFFD is refused too:
// encoding/json decodes invalid UTF-8 to it, so it means the sender's bytes were not UTF-8.
func Printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
