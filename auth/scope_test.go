package auth

import (
	"errors"
	"testing"
)

func TestParseScopes(t *testing.T) {
	f := func(in []string, want Scope, wantErr bool) {
		t.Helper()
		got, err := ParseScopes(in...)
		if got != want || (err != nil) != wantErr || (err != nil && !errors.Is(err, ErrInvalidScope)) {
			t.Errorf("ParseScopes(%q) = %s, %v; want %s, error %t", in, got, err, want, wantErr)
		}
	}
	f([]string{"read"}, ScopeRead, false)
	f([]string{"ingest"}, ScopeIngest, false)
	f([]string{"admin"}, ScopeAdmin, false)
	f([]string{"read,admin"}, ScopeRead|ScopeAdmin, false)
	f([]string{"read", "ingest", "read"}, ScopeRead|ScopeIngest, false)
	f([]string{" read , ingest "}, ScopeRead|ScopeIngest, false)
	f(nil, 0, true)
	f([]string{""}, 0, true)
	f([]string{"read,"}, 0, true)
	f([]string{"write"}, 0, true)
	f([]string{"READ"}, 0, true)
	f([]string{"read", "root"}, 0, true)
}

func TestScopeHas(t *testing.T) {
	f := func(s, need Scope, want bool) {
		t.Helper()
		if got := s.Has(need); got != want {
			t.Errorf("%s.Has(%s) = %t, want %t", s, need, got, want)
		}
	}
	f(ScopeRead, ScopeRead, true)
	f(ScopeRead, ScopeIngest, false)
	f(ScopeRead, ScopeAdmin, false)
	f(ScopeIngest, ScopeRead, false)
	f(ScopeIngest, ScopeIngest, true)
	f(ScopeAdmin, ScopeRead, true)
	f(ScopeAdmin, ScopeAdmin, true)
	f(ScopeAdmin, ScopeIngest, false)
	f(ScopeRead|ScopeIngest, ScopeIngest, true)
	f(ScopeRead|ScopeIngest, ScopeRead|ScopeIngest, true)
	f(ScopeRead, 0, false)
}

func TestScopeString(t *testing.T) {
	f := func(s Scope, want string) {
		t.Helper()
		if got := s.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
		if s != 0 {
			if back, err := ParseScopes(want); err != nil || back != s {
				t.Errorf("ParseScopes(%q) = %s, %v", want, back, err)
			}
		}
	}
	f(ScopeRead, "read")
	f(ScopeAdmin|ScopeRead|ScopeIngest, "read,ingest,admin")
	f(ScopeIngest|ScopeAdmin, "ingest,admin")
	f(0, "")
}
