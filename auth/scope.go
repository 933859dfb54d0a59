package auth

import (
	"fmt"
	"strings"
)

// Scope is a set of what an API token may do.
type Scope uint8

// The scopes. A token may hold several.
const (
	// ScopeRead queries: the query API, rules, alerts, metadata, federation and remote read.
	ScopeRead Scope = 1 << iota
	// ScopeIngest pushes: request events, Prometheus text, remote write, and /metrics on the main port.
	ScopeIngest
	// ScopeAdmin manages tokens, silences and the security status; it implies ScopeRead.
	ScopeAdmin
)

// scopeNames are the scopes in the order they are listed.
var scopeNames = [...]struct {
	scope Scope
	name  string
}{{ScopeRead, "read"}, {ScopeIngest, "ingest"}, {ScopeAdmin, "admin"}}

// allScopes is every valid scope bit.
const allScopes = ScopeRead | ScopeIngest | ScopeAdmin

// ParseScopes reads scope names, each alone or several comma-separated
// ("read", "read,admin"). An unknown name or no name at all returns
// ErrInvalidScope.
func ParseScopes(names ...string) (Scope, error) {
	var s Scope
	for _, list := range names {
		for name := range strings.SplitSeq(list, ",") {
			one, err := parseScope(strings.TrimSpace(name))
			if err != nil {
				return 0, err
			}
			s |= one
		}
	}
	if s == 0 {
		return 0, fmt.Errorf("%w: none given; want read, ingest or admin", ErrInvalidScope)
	}
	return s, nil
}

func parseScope(name string) (Scope, error) {
	for _, n := range scopeNames {
		if n.name == name {
			return n.scope, nil
		}
	}
	return 0, fmt.Errorf("%w: %q is not read, ingest or admin", ErrInvalidScope, name)
}

// Has reports whether s grants need: every scope in need is in s, where
// admin counts as read too.
func (s Scope) Has(need Scope) bool {
	if s&ScopeAdmin != 0 {
		s |= ScopeRead
	}
	return need != 0 && s&need == need
}

// Names lists the scopes of s, in the order read, ingest, admin.
func (s Scope) Names() []string {
	out := []string{}
	for _, n := range scopeNames {
		if s&n.scope != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// String is s as ParseScopes reads it: the names joined by commas.
func (s Scope) String() string { return strings.Join(s.Names(), ",") }

// valid reports whether s holds at least one scope and nothing unknown.
func (s Scope) valid() bool { return s != 0 && s&^allScopes == 0 }
