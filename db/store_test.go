package db

import "testing"

func TestWithBinaryParameters(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://u@h:5432/d", "postgres://u@h:5432/d?binary_parameters=yes"},
		{"postgres://u@h/d?sslmode=disable", "postgres://u@h/d?sslmode=disable&binary_parameters=yes"},
		{"host=h dbname=d ", "host=h dbname=d binary_parameters=yes"},
		{"postgres://u@h/d?binary_parameters=no", "postgres://u@h/d?binary_parameters=no"},
	}
	for _, tt := range tests {
		if got := withBinaryParameters(tt.in); got != tt.want {
			t.Errorf("withBinaryParameters(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
