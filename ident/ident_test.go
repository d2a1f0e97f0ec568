package ident

import "testing"

func TestPrintable(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"1540880592059", true},
		{"AB-12_x y", true},
		{"नमस्ते", true},
		{"", true},
		{"12\x003", false},
		{"12\xff", false},
		{"12\uFFFD", false},
		{"a\tb", false},
		{"a\nb", false},
		{"a\x7fb", false},
		{"a\u0085b", false}, // C1 control
		{"a\u200bb", false}, // zero-width space
		{"a\u202eb", false}, // right-to-left override
		{"a\u00a0b", false}, // no-break space: looks like a space, is not one
	} {
		if got := Printable(tt.in); got != tt.want {
			t.Errorf("Printable(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
