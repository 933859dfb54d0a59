package collector

import "testing"

func TestNormalizePage(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := NormalizePage(in); got != want {
			t.Fatalf("NormalizePage(%q) = %q, want %q", in, got, want)
		}
	}
	f("/checkout", "/checkout")
	f("/checkout?step=2#pay", "/checkout")
	f("/orders/1234", "/orders/:id")
	f("/orders/1234/items/7?x=1", "/orders/:id/items/:id")
	f("/u/3fa85f64-5717-4562-b3fc-2c963f66afa6/profile", "/u/:id/profile")
	f("/blob/0123456789abcdef0123", "/blob/:id")
	f("/v2/api", "/v2/api") // a segment with digits and letters is not an id
	f("/beef", "/beef")     // short hex words stay
	f("/", "/")
	f("#top", "")
}

func TestValueCap(t *testing.T) {
	c := newValueCap(2, 3)
	f := func(key, value, wantKey, wantValue string) {
		t.Helper()
		if k, v := c.admit(key, value); k != wantKey || v != wantValue {
			t.Fatalf("admit(%q, %q) = %q, %q; want %q, %q", key, value, k, v, wantKey, wantValue)
		}
	}
	f("shop", "/a", "shop", "/a")
	f("shop", "/b", "shop", "/b")
	f("shop", "/c", "shop", "/c")
	f("shop", "/d", "shop", OtherValue) // fourth page of shop
	f("shop", "/a", "shop", "/a")       // known pages stay
	f("blog", "/x", "blog", "/x")
	f("third", "/y", OtherValue, "/y") // third service
	f("third", "/z", OtherValue, "/z")
}
