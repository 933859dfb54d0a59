package slo

import (
	"errors"
	"path/filepath"
	"testing"

	"atroz/store"
)

func openStore(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(path, &store.Options{FlushInterval: -1, PruneInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func mustDecode(t *testing.T, in string) SLO {
	t.Helper()
	s, err := DecodeJSON([]byte(in), buckets)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCatalog: dashboard SLOs join the file's, refuse the file's and the
// built-in names, change and go only when they are the dashboard's, and
// are read back from the data file.
func TestCatalog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	db := openStore(t, path)
	file := &File{Defaults: true, SLOs: []SLO{{Name: "from-file", Service: "shop", Objective: 99, Window: DefaultWindow, Indicator: Availability}}}
	c, skipped, err := OpenCatalog(db, file, buckets)
	if err != nil || len(skipped) > 0 {
		t.Fatalf("open: %v %v", skipped, err)
	}
	pay := mustDecode(t, `{"name":"pay","service":"shop","objective":99.5,"indicator":"availability"}`)
	if err := c.Create(pay); err != nil {
		t.Fatal(err)
	}
	before := c.File()
	for _, name := range []string{"pay", "from-file", "latency"} {
		s := pay
		s.Name = name
		if err := c.Create(s); !errors.Is(err, ErrNameTaken) {
			t.Errorf("create %s: %v, want ErrNameTaken", name, err)
		}
	}
	if c.File() != before {
		t.Fatal("a refused create made a new File")
	}
	f := func(err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Fatalf("%v, want %v", err, want)
		}
	}
	f(c.Delete("from-file"), ErrFromFile)
	f(c.Delete("availability"), ErrBuiltIn)
	f(c.Delete("nothing"), ErrNotFound)
	changed := pay
	changed.Objective = 99.9
	f(c.Replace(changed), nil)
	missing := pay
	missing.Name = "nothing"
	f(c.Replace(missing), ErrNotFound)
	got := c.File()
	if got == before || !got.Defaults || len(got.SLOs) != 2 || got.SLOs[0].Origin() != OriginFile || got.SLOs[1].Objective != 99.9 || got.SLOs[1].Origin() != OriginDashboard {
		t.Fatalf("file %+v, want the file's SLO then pay at 99.9", got)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openStore(t, path)
	again, _, err := OpenCatalog(db, file, buckets)
	if err != nil || len(again.File().SLOs) != 2 || again.File().SLOs[1].Objective != 99.9 {
		t.Fatalf("reopened: %+v, %v", again.File(), err)
	}
	f(again.Delete("pay"), nil)
	if len(again.File().SLOs) != 1 {
		t.Fatalf("after delete: %+v", again.File().SLOs)
	}
}

// TestCatalogSkipsShadowed: a stored SLO whose name the file has taken
// since, or that no longer passes the checks, is left out and reported.
func TestCatalogSkipsShadowed(t *testing.T) {
	db := openStore(t, filepath.Join(t.TempDir(), "c.db"))
	c, _, err := OpenCatalog(db, &File{}, buckets)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Create(mustDecode(t, `{"name":"pay","service":"shop","objective":99,"indicator":"latency","threshold":"250ms"}`)); err != nil {
		t.Fatal(err)
	}
	file := &File{SLOs: []SLO{{Name: "pay", Service: "shop", Objective: 99, Window: DefaultWindow, Indicator: Availability}}}
	if c, skipped, err := OpenCatalog(db, file, buckets); err != nil || len(skipped) != 1 || len(c.File().SLOs) != 1 || c.File().SLOs[0].Origin() != OriginFile {
		t.Fatalf("shadowed by the file: %v %v", skipped, err)
	}
	if c, skipped, err := OpenCatalog(db, &File{}, []float64{0.1, 0.5}); err != nil || len(skipped) != 1 || len(c.File().SLOs) != 0 {
		t.Fatalf("threshold no longer a bound: %v %v", skipped, err)
	}
}
