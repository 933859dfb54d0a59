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
	// Only a URL path's characters survive: the rest is percent-encoded,
	// so no label can carry a Markdown link, HTML or emphasis.
	f("/[Reset your password](https://evil.example)", "/%5BReset%20your%20password%5D%28https%3A//evil.example%29")
	f("/<img src=x>/*bold*/`code`", "/%3Cimg%20src%3Dx%3E/%2Abold%2A/%60code%60")
	f("/caf\u00e9/a:b@c", "/caf%C3%A9/a%3Ab%40c")
	f("/already%20encoded/~user/a_b-c.d", "/already%20encoded/~user/a_b-c.d")
	f("/orders/1234/[x]", "/orders/:id/%5Bx%5D")
}

func FuzzNormalizePage(f *testing.F) {
	for _, s := range []string{"/checkout", "/[a](b)", "/orders/12?x", "/caf\u00e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, page string) {
		got := NormalizePage(page)
		for i := 0; i < len(got); i++ {
			if c := got[i]; !pageSafe(c) && c != ':' {
				t.Fatalf("NormalizePage(%q) = %q holds %q", page, got, c)
			}
		}
		if len(got) > 3*len(page) {
			t.Fatalf("NormalizePage(%q) = %d bytes", page, len(got))
		}
	})
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

func BenchmarkNormalizePage(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = NormalizePage("/orders/1234/items?x=1")
		_ = NormalizePage("/checkout/payment")
	}
}

func TestBeaconPageLabelIsEscaped(t *testing.T) {
	c, db := newTest(t, nil)
	if err := c.RecordBeacon(Beacon{Service: "shop", Page: "/[Reset your password](https://evil.example)", FPS: []float64{12}, TS: testNow.UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	if err := c.Scrape(); err != nil {
		t.Fatal(err)
	}
	page := "/%5BReset%20your%20password%5D%28https%3A//evil.example%29"
	if v := stored(t, db, eq("__name__", "frontend_beacons_total"), eq("page", page)); v != 1 {
		t.Errorf("frontend_beacons_total{page=%q} = %v, want 1", page, v)
	}
}
