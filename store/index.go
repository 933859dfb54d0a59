package store

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/prometheus/model/labels"
)

const indexShards = 64

// index finds series by label hash for appends and by metric name for reads.
type index struct {
	shards [indexShards]indexShard
	count  atomic.Int64
	nextID atomic.Uint64
	// used is count plus the reserved slots: what the series limit bounds.
	used atomic.Int64
	res  reservations

	mu  sync.RWMutex
	all []*memSeries // in id order
	// postings lists the series of each label name and value, so a
	// matcher like {svc="billing"} reads its series, not every series.
	postings map[string]map[string][]*memSeries
	// names holds each label name two series or more have, once, so they
	// share its string; it loses a name with the name's last series.
	names map[string]string
}

type indexShard struct {
	sync.RWMutex
	m map[uint64][]*memSeries
}

func newIndex() *index {
	ix := &index{postings: map[string]map[string][]*memSeries{}, names: map[string]string{}}
	for i := range ix.shards {
		ix.shards[i].m = map[uint64][]*memSeries{}
	}
	return ix
}

func (ix *index) get(ls Labels, h uint64) *memSeries {
	sh := &ix.shards[h%indexShards]
	sh.RLock()
	defer sh.RUnlock()
	return findSeries(sh.m[h], ls)
}

func findSeries(list []*memSeries, ls Labels) *memSeries {
	for _, s := range list {
		if s.lset.Equal(ls) {
			return s
		}
	}
	return nil
}

// create adds a series for ls unless one exists or limit would be passed.
// validate runs only for a series that is really new.
func (ix *index) create(ls Labels, h uint64, limit int, validate func() error) (*memSeries, error) {
	sh := &ix.shards[h%indexShards]
	sh.Lock()
	defer sh.Unlock()
	if s := findSeries(sh.m[h], ls); s != nil {
		return s, nil
	}
	// A reserved series takes the slot set aside for it, which used counts already.
	if !ix.res.take(ls, h) {
		if err := validate(); err != nil {
			return nil, err
		}
		if ix.used.Add(1) > int64(limit) {
			ix.used.Add(-1)
			return nil, ErrSeriesLimit
		}
	}
	ix.count.Add(1)
	s := newMemSeries(ix.nextID.Add(1), ls, h) // add interns ls
	sh.m[h] = append(sh.m[h], s)
	ix.add(s)
	return s, nil
}

// load adds a series read from disk.
func (ix *index) load(s *memSeries) {
	sh := &ix.shards[s.hash%indexShards]
	sh.Lock()
	sh.m[s.hash] = append(sh.m[s.hash], s)
	sh.Unlock()
	ix.count.Add(1)
	ix.used.Add(1)
	for {
		n := ix.nextID.Load()
		if s.id <= n || ix.nextID.CompareAndSwap(n, s.id) {
			break
		}
	}
	ix.add(s)
}

// add puts s in the id list and postings, its labels interned: the
// caller's label strings may point into a request's buffer.
func (ix *index) add(s *memSeries) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	s.lset = ix.intern(s.lset)
	i, _ := slices.BinarySearchFunc(ix.all, s.id, func(a *memSeries, id uint64) int { return cmp.Compare(a.id, id) })
	ix.all = slices.Insert(ix.all, i, s)
	for _, l := range s.lset {
		vals := ix.postings[l.Name]
		if vals == nil {
			vals = map[string][]*memSeries{}
			ix.postings[l.Name] = vals
		}
		vals[l.Value] = append(vals[l.Value], s)
	}
}

// intern copies ls into memory of its own: the values, and the names no
// other series has, in one string; the names other series have too shared
// through ix.names. A name enters ix.names at its second series, so a name
// one series alone has (the costliest labels an attacker can send) costs
// no map entry. The caller holds ix.mu.
func (ix *index) intern(ls Labels) Labels {
	out := make(Labels, len(ls))
	n := 0
	for i, l := range ls {
		out[i].Name = ix.sharedName(l.Name)
		if out[i].Name == "" {
			n += len(l.Name)
		}
		n += len(l.Value)
	}
	var b strings.Builder
	b.Grow(n)
	for i, l := range ls {
		if out[i].Name == "" {
			b.WriteString(l.Name)
		}
		b.WriteString(l.Value)
	}
	own := b.String()
	for i, l := range ls {
		if out[i].Name == "" {
			out[i].Name, own = own[:len(l.Name)], own[len(l.Name):]
		}
		out[i].Value, own = own[:len(l.Value)], own[len(l.Value):]
	}
	return out
}

// sharedName returns the shared copy of a label name some series already
// has, making it at the name's second series; "" for a name no series has.
func (ix *index) sharedName(name string) string {
	if s, ok := ix.names[name]; ok {
		return s
	}
	if _, ok := ix.postings[name]; !ok {
		return ""
	}
	s := strings.Clone(name)
	ix.names[s] = s
	return s
}

// remove drops a series whose data has all expired.
func (ix *index) remove(s *memSeries) {
	sh := &ix.shards[s.hash%indexShards]
	sh.Lock()
	sh.m[s.hash] = slices.DeleteFunc(sh.m[s.hash], func(o *memSeries) bool { return o == s })
	if len(sh.m[s.hash]) == 0 {
		delete(sh.m, s.hash)
	}
	sh.Unlock()
	ix.count.Add(-1)
	ix.used.Add(-1)
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.all = slices.DeleteFunc(ix.all, func(o *memSeries) bool { return o == s })
	for _, l := range s.lset {
		vals := ix.postings[l.Name]
		vals[l.Value] = slices.DeleteFunc(vals[l.Value], func(o *memSeries) bool { return o == s })
		if len(vals[l.Value]) == 0 {
			delete(vals, l.Value)
		}
		if len(vals) == 0 {
			delete(ix.postings, l.Name)
			delete(ix.names, l.Name)
		}
	}
}

// appendAll appends every series to dst in id order.
func (ix *index) appendAll(dst []*memSeries) []*memSeries {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return append(dst, ix.all...)
}

func (ix *index) byID(id uint64) *memSeries {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	i, ok := slices.BinarySearchFunc(ix.all, id, func(a *memSeries, id uint64) int { return cmp.Compare(a.id, id) })
	if !ok {
		return nil
	}
	return ix.all[i]
}

// match returns the series every matcher accepts, sorted by labels.
func (ix *index) match(ms []*labels.Matcher) []*memSeries {
	out := ix.matchAny(ms)
	slices.SortFunc(out, func(a, b *memSeries) int { return compareLabels(a.lset, b.lset) })
	return out
}

// matchAny returns the series every matcher accepts, in no order.
func (ix *index) matchAny(ms []*labels.Matcher) []*memSeries {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	cands := ix.all
	for _, m := range ms {
		// The shortest postings list of an equality matcher bounds the scan.
		if m.Type == labels.MatchEqual && m.Value != "" {
			if p := ix.postings[m.Name][m.Value]; len(p) < len(cands) {
				cands = p
			}
		}
	}
	var out []*memSeries
	for _, s := range cands {
		if matchesAll(s.lset, ms) {
			out = append(out, s)
		}
	}
	return out
}

// labelNames returns every label name, or with name, every value of that
// label, in no order: the keys of the postings.
func (ix *index) labelNames(name string, values bool) []string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if values {
		return slices.AppendSeq(make([]string, 0, len(ix.postings[name])), maps.Keys(ix.postings[name]))
	}
	return slices.AppendSeq(make([]string, 0, len(ix.postings)), maps.Keys(ix.postings))
}

func matchesAll(ls Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(ls.Get(m.Name)) {
			return false
		}
	}
	return true
}

// Compare orders label sets as Select sorts its series: name by name, then
// value by value, a prefix first.
func (ls Labels) Compare(o Labels) int { return compareLabels(ls, o) }

func compareLabels(a, b Labels) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := strings.Compare(a[i].Name, b[i].Name); c != 0 {
			return c
		}
		if c := strings.Compare(a[i].Value, b[i].Value); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}
