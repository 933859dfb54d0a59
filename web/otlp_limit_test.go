package web

import "testing"

// TestOTLPLimit: at most total requests at once, at most half of them per
// token, and a released slot is free again; the map holds only the tokens
// with a request under way.
func TestOTLPLimit(t *testing.T) {
	l := newOTLPLimit(4)
	for i := range 2 {
		if !l.acquire("a") {
			t.Fatalf("a's request %d refused with %d busy", i+1, l.busy)
		}
	}
	if l.acquire("a") {
		t.Fatal("a third request of one token taken: each token may have half the slots")
	}
	if !l.acquire("b") || !l.acquire("c") {
		t.Fatal("other tokens refused while slots are free")
	}
	if l.acquire("d") {
		t.Fatal("a fifth request taken past the total")
	}
	l.release("a")
	if !l.acquire("d") {
		t.Fatal("a released slot is not free again")
	}
	for _, k := range []string{"a", "b", "c", "d"} {
		l.release(k)
	}
	if l.busy != 0 || len(l.by) != 0 {
		t.Fatalf("after every release: %d busy, %d tokens kept", l.busy, len(l.by))
	}
}
