package alert

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
)

// Silence mutes the notifications of alerts whose labels match all its
// matchers between StartsAt and EndsAt. A silenced alert still changes
// state and is recorded. The shape is Alertmanager's.
type Silence struct {
	ID       string    `json:"id"`
	Matchers []Matcher `json:"matchers"`
	StartsAt time.Time `json:"startsAt"`
	EndsAt   time.Time `json:"endsAt"`
	// CreatedBy is who made the silence; the HTTP API sets it from the
	// login, whatever the client sent.
	CreatedBy string `json:"createdBy"`
	Comment   string `json:"comment"`
}

// Matcher is one label condition of a silence.
type Matcher struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"isRegex"`
	IsEqual *bool  `json:"isEqual,omitempty"` // absent means true
}

// Active reports whether the silence applies at ts.
func (s *Silence) Active(ts time.Time) bool { return !ts.Before(s.StartsAt) && ts.Before(s.EndsAt) }

// matchType is the Prometheus match type of m.
func (m Matcher) matchType() labels.MatchType {
	switch eq := m.IsEqual == nil || *m.IsEqual; {
	case m.IsRegex && eq:
		return labels.MatchRegexp
	case m.IsRegex:
		return labels.MatchNotRegexp
	case !eq:
		return labels.MatchNotEqual
	}
	return labels.MatchEqual
}

// String returns m in PromQL's form: name="value", name=~"regex"...
func (m Matcher) String() string {
	return fmt.Sprintf("%s%s%q", m.Name, m.matchType(), m.Value)
}

// compile turns the matchers into Prometheus label matchers.
func (s *Silence) compile() ([]*labels.Matcher, error) {
	if len(s.Matchers) == 0 {
		return nil, errors.New("matchers: at least one is required")
	}
	out := make([]*labels.Matcher, 0, len(s.Matchers))
	for i, m := range s.Matchers {
		if m.Name == "" {
			return nil, fmt.Errorf("matchers[%d].name is required", i)
		}
		lm, err := labels.NewMatcher(m.matchType(), m.Name, m.Value)
		if err != nil {
			return nil, fmt.Errorf("matchers[%d]: %w", i, err)
		}
		out = append(out, lm)
	}
	return out, nil
}

// Validate checks a silence before it is stored.
func (s *Silence) Validate() error {
	if _, err := s.compile(); err != nil {
		return err
	}
	switch {
	case s.EndsAt.IsZero():
		return errors.New("endsAt is required")
	case !s.EndsAt.After(s.StartsAt):
		return errors.New("endsAt must be after startsAt")
	case len(s.Comment) > 1024 || len(s.CreatedBy) > 256:
		return errors.New("comment (1024 bytes) or createdBy (256 bytes) too long")
	}
	return nil
}

// silences holds the stored silences with their compiled matchers.
type silences struct {
	mu       sync.RWMutex
	db       store.RecordStore
	rev      uint64 // of the records all holds; guarded by mu
	all      map[string]*Silence
	matchers map[string][]*labels.Matcher
}

// loadSilences reads the silences of db.
func loadSilences(db store.RecordStore) (*silences, error) {
	s := &silences{db: db}
	rev, err := db.Revision(store.RecordSilence)
	if err != nil {
		return nil, err
	}
	return s, s.load(rev)
}

// load reads every silence as of at least rev. The caller holds mu, or
// is alone with s.
func (s *silences) load(rev uint64) error {
	all, matchers := map[string]*Silence{}, map[string][]*labels.Matcher{}
	var bad error
	err := s.db.Records(store.RecordSilence, func(id string, v []byte) bool {
		var sil Silence
		if err := json.Unmarshal(v, &sil); err != nil {
			bad = fmt.Errorf("silence %s: %w", id, err)
			return false
		}
		ms, err := sil.compile()
		if err != nil {
			bad = fmt.Errorf("silence %s: %w", id, err)
			return false
		}
		all[id], matchers[id] = &sil, ms
		return true
	})
	if err = errors.Join(err, bad); err != nil {
		return err
	}
	s.all, s.matchers, s.rev = all, matchers, rev
	return nil
}

// refresh reloads the silences when another instance has changed them:
// one read of the revision, none over the data file.
func (s *silences) refresh() error {
	rev, err := s.db.Revision(store.RecordSilence)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rev == s.rev {
		return nil
	}
	return s.load(rev)
}

// write stores put and removes del at the revision the silences were read
// at, reloading them and trying again when another instance wrote first:
// a silence is written whole under its own ID, so the same write stands
// over the other's. The caller holds mu.
func (s *silences) write(put map[string][]byte, del []string) error {
	return store.RetryConflicts(func() error {
		rev, err := s.db.WriteRecordsAt(store.RecordSilence, s.rev, put, del)
		switch {
		case err == nil:
			s.rev = rev
		case errors.Is(err, store.ErrRecordConflict):
			cur, rerr := s.db.Revision(store.RecordSilence)
			if rerr == nil {
				rerr = s.load(cur)
			}
			if rerr != nil {
				return rerr
			}
		}
		return err
	})
}

func (s *silences) match(ls labels.Labels, ts time.Time) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for id, sil := range s.all {
		if sil.Active(ts) && matchesAll(s.matchers[id], ls) {
			return true
		}
	}
	return false
}

// matching returns the IDs of the active silences covering ls at ts, sorted.
func (s *silences) matching(ls labels.Labels, ts time.Time) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for id, sil := range s.all {
		if sil.Active(ts) && matchesAll(s.matchers[id], ls) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func matchesAll(ms []*labels.Matcher, ls labels.Labels) bool {
	for _, m := range ms {
		if !m.Matches(ls.Get(m.Name)) {
			return false
		}
	}
	return true
}

// AddSilence validates and stores a silence, giving it an ID, and returns it.
func (m *Manager) AddSilence(s Silence) (Silence, error) {
	if s.StartsAt.IsZero() {
		s.StartsAt = m.opts.Now()
	}
	if err := s.Validate(); err != nil {
		return Silence{}, err
	}
	ms, _ := s.compile() // Validate compiled them
	var id [8]byte
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails on supported platforms
	s.ID = hex.EncodeToString(id[:])
	b, err := json.Marshal(s)
	if err != nil {
		return Silence{}, err
	}
	m.silences.mu.Lock()
	defer m.silences.mu.Unlock()
	if err := m.silences.write(map[string][]byte{s.ID: b}, nil); err != nil {
		return Silence{}, fmt.Errorf("store silence: %w", err)
	}
	m.silences.all[s.ID], m.silences.matchers[s.ID] = &s, ms
	return s, nil
}

// ErrSilenceNotFound is returned by DeleteSilence for an unknown ID.
var ErrSilenceNotFound = errors.New("silence not found")

// DeleteSilence removes a silence, ending it, and returns what it was.
func (m *Manager) DeleteSilence(id string) (Silence, error) {
	if err := m.silences.refresh(); err != nil {
		return Silence{}, fmt.Errorf("delete silence: %w", err)
	}
	m.silences.mu.Lock()
	defer m.silences.mu.Unlock()
	s, ok := m.silences.all[id]
	if !ok {
		return Silence{}, fmt.Errorf("%w: %q", ErrSilenceNotFound, id)
	}
	if err := m.silences.write(nil, []string{id}); err != nil {
		return Silence{}, fmt.Errorf("delete silence: %w", err)
	}
	delete(m.silences.all, id)
	delete(m.silences.matchers, id)
	return *s, nil
}

// Silences returns every stored silence, newest start first.
func (m *Manager) Silences() []Silence {
	_ = m.silences.refresh() // unreadable: the last known
	m.silences.mu.RLock()
	defer m.silences.mu.RUnlock()
	out := make([]Silence, 0, len(m.silences.all))
	for _, s := range m.silences.all {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b Silence) int {
		if c := b.StartsAt.Compare(a.StartsAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}
