package slo

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"atroz/store"
)

// Refusals of a Catalog's changes.
var (
	// ErrNameTaken is returned by Create when the name is another SLO's:
	// the file's, a built-in one's or one created before.
	ErrNameTaken = errors.New("is taken by another SLO")
	// ErrFromFile is returned by Replace and Delete for an SLO of
	// SLO_FILE, which changes only in that file.
	ErrFromFile = errors.New("comes from SLO_FILE, and changes only there")
	// ErrBuiltIn is returned by Replace and Delete for a built-in SLO,
	// which SLO_DEFAULTS=false drops.
	ErrBuiltIn = errors.New("is built in; SLO_DEFAULTS=false drops the built-in SLOs")
	// ErrNotFound is returned by Replace and Delete for a name no SLO has.
	ErrNotFound = errors.New("no such SLO")
)

// Catalog is the SLOs in force: a file's (and the built-in ones, unless
// it drops them) and those created in the dashboard, which it keeps in the
// data file. Its methods may be called concurrently.
type Catalog struct {
	db      store.RecordStore
	file    *File
	buckets []float64

	mu        sync.Mutex
	rev       uint64 // of the records dashboard holds
	dashboard []SLO  // by name
	current   *File
}

// OpenCatalog returns the catalog of file's SLOs and those stored in db;
// buckets are the request-duration histogram's bounds in seconds. A stored
// SLO that no longer passes the checks (the histogram's bounds changed) or
// whose name the file now takes is left out, not deleted, and reported in
// skipped, so the server starts.
func OpenCatalog(db store.RecordStore, file *File, buckets []float64) (c *Catalog, skipped []error, err error) {
	c = &Catalog{db: db, file: file, buckets: buckets}
	if skipped, err = c.load(); err != nil {
		return nil, nil, err
	}
	return c, skipped, nil
}

// load reads the stored SLOs and composes the File in force. The caller
// holds c.mu, or is alone with c.
func (c *Catalog) load() (skipped []error, err error) {
	rev, err := c.db.Revision(store.RecordSLO) // before the records: a write meanwhile is read again
	if err != nil {
		return nil, fmt.Errorf("load slos: %w", err)
	}
	var dashboard []SLO
	err = c.db.Records(store.RecordSLO, func(name string, v []byte) bool {
		s, err := DecodeRecord(v, c.buckets)
		switch {
		case err != nil:
			skipped = append(skipped, fmt.Errorf("stored slo %s: %w", name, err))
		case c.taken(s.Name) != nil:
			skipped = append(skipped, fmt.Errorf("stored slo: %w", c.taken(s.Name)))
		default:
			dashboard = append(dashboard, s)
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("load slos: %w", err)
	}
	c.rev, c.dashboard = rev, dashboard
	c.current = c.compose()
	return skipped, nil
}

// Refresh reads the stored SLOs again if another instance sharing them
// has changed them, and reports whether it did: one read of their
// revision, none over the data file.
func (c *Catalog) Refresh() (bool, error) {
	rev, err := c.db.Revision(store.RecordSLO)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if rev == c.rev {
		return false, nil
	}
	_, err = c.load()
	return err == nil, err
}

// File returns the SLOs in force as one File: the file's, then the
// dashboard's, by name; the built-in ones unless the file drops them. It
// is a new File after every change, never modified, so a cache may key on it.
func (c *Catalog) File() *File {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.current
}

// Buckets returns the request-duration histogram's bounds in seconds, at
// which a latency SLO's threshold must lie.
func (c *Catalog) Buckets() []float64 { return slices.Clone(c.buckets) }

// Create stores a new dashboard SLO; a name already in use is ErrNameTaken.
func (c *Catalog) Create(s SLO) error {
	return c.change(func() error {
		if err := c.taken(s.Name); err != nil {
			return fmt.Errorf("name: %w: %w", ErrNameTaken, err)
		}
		if c.find(s.Name) >= 0 {
			return fmt.Errorf("name: %w: %q was created in the dashboard", ErrNameTaken, s.Name)
		}
		return c.put(s, len(c.dashboard))
	})
}

// Replace stores s in place of the dashboard SLO called s.Name.
func (c *Catalog) Replace(s SLO) error {
	return c.change(func() error {
		i, err := c.dashboardIndex(s.Name)
		if err != nil {
			return err
		}
		return c.put(s, i)
	})
}

// Delete removes the dashboard SLO called name.
func (c *Catalog) Delete(name string) error {
	return c.change(func() error {
		i, err := c.dashboardIndex(name)
		if err != nil {
			return err
		}
		if err := c.write(nil, []string{name}); err != nil {
			return fmt.Errorf("delete slo %s: %w", name, err)
		}
		c.dashboard = slices.Delete(c.dashboard, i, i+1)
		c.current = c.compose()
		return nil
	})
}

// change runs try under c.mu, deciding again from the stored SLOs as
// another instance left them when it wrote first (store.ErrRecordConflict).
func (c *Catalog) change(try func() error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return store.RetryConflicts(try)
}

// write stores put and removes del at the revision the SLOs were read at.
// When another instance wrote first, it reloads the SLOs and returns
// store.ErrRecordConflict, for change to decide again. The caller holds c.mu.
func (c *Catalog) write(put map[string][]byte, del []string) error {
	rev, err := c.db.WriteRecordsAt(store.RecordSLO, c.rev, put, del)
	switch {
	case err == nil:
		c.rev = rev
	case errors.Is(err, store.ErrRecordConflict):
		if _, lerr := c.load(); lerr != nil {
			return lerr
		}
	}
	return err
}

// put stores s durably, then at i of the dashboard's SLOs. The caller holds c.mu.
func (c *Catalog) put(s SLO, i int) error {
	s.dashboard = true
	b, err := EncodeRecord(s)
	if err != nil {
		return err
	}
	if err := c.write(map[string][]byte{s.Name: b}, nil); err != nil {
		return fmt.Errorf("store slo %s: %w", s.Name, err)
	}
	if i == len(c.dashboard) {
		c.dashboard = append(c.dashboard, s)
	} else {
		c.dashboard[i] = s
	}
	c.current = c.compose()
	return nil
}

// dashboardIndex finds the dashboard SLO called name, or says why it may
// not be changed. The caller holds c.mu.
func (c *Catalog) dashboardIndex(name string) (int, error) {
	if err := c.taken(name); err != nil {
		return -1, err
	}
	if i := c.find(name); i >= 0 {
		return i, nil
	}
	return -1, fmt.Errorf("%q: %w", name, ErrNotFound)
}

// taken says whether name is the file's or a built-in SLO's. Built-in
// names are refused even while the defaults are dropped, so turning them
// back on cannot collide with a stored SLO.
func (c *Catalog) taken(name string) error {
	for _, s := range c.file.SLOs {
		if s.Name == name {
			return fmt.Errorf("%q %w", name, ErrFromFile)
		}
	}
	for _, s := range Defaults() {
		if s.Name == name {
			return fmt.Errorf("%q %w", name, ErrBuiltIn)
		}
	}
	return nil
}

func (c *Catalog) find(name string) int {
	return slices.IndexFunc(c.dashboard, func(s SLO) bool { return s.Name == name })
}

// compose builds the File of the SLOs in force. The caller holds c.mu.
func (c *Catalog) compose() *File {
	dash := slices.Clone(c.dashboard)
	slices.SortFunc(dash, func(a, b SLO) int { return strings.Compare(a.Name, b.Name) })
	return &File{Defaults: c.file.Defaults, SLOs: append(slices.Clone(c.file.SLOs), dash...)}
}
