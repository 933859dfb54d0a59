package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"atroz/store"
)

func mustCreateToken(t testing.TB, s *Service, name string, scopes Scope, expires time.Time) string {
	t.Helper()
	secret, err := s.CreateToken(name, scopes, expires)
	if err != nil {
		t.Fatalf("create token %q: %v", name, err)
	}
	return secret
}

func TestVerifyToken(t *testing.T) {
	clk := &clock{t: baseTime}
	s, _ := openTest(t, clk)
	api := mustCreateToken(t, s, "api", ScopeIngest, time.Time{})
	grafana := mustCreateToken(t, s, "grafana", ScopeRead|ScopeAdmin, baseTime.Add(time.Hour))
	web := mustCreateToken(t, s, "web", ScopeIngest, time.Time{})
	if !strings.HasPrefix(api, "atz_") || len(api) != tokenSecretLen || !IsTokenSecret(api) {
		t.Errorf("secret %q: want atz_ and %d characters", api, tokenSecretLen)
	}
	if api == web {
		t.Fatal("two tokens share a secret")
	}
	if err := s.RevokeToken("web"); err != nil {
		t.Fatal(err)
	}
	f := func(secret, wantName string, wantScopes Scope, want error) {
		t.Helper()
		tok, err := s.VerifyToken(secret)
		if tok.Name != wantName || tok.Scopes != wantScopes || !errors.Is(err, want) {
			t.Errorf("VerifyToken(%q) = %q %s, %v; want %q %s, %v", secret, tok.Name, tok.Scopes, err, wantName, wantScopes, want)
		}
	}
	f(api, "api", ScopeIngest, nil)
	f(grafana, "grafana", ScopeRead|ScopeAdmin, nil)
	f(web, "", 0, ErrTokenUnknown)
	f("", "", 0, ErrTokenUnknown)
	f(api[:len(api)-1], "", 0, ErrTokenUnknown)
	f(api+"x", "", 0, ErrTokenUnknown)
	f(strings.ToUpper(api), "", 0, ErrTokenUnknown)
	f("btz_"+api[4:], "", 0, ErrTokenUnknown)
	f(strings.Repeat("a", 1000), "", 0, ErrTokenUnknown)

	clk.set(baseTime.Add(time.Hour))
	f(grafana, "grafana", ScopeRead|ScopeAdmin, ErrTokenExpired)
	f(api, "api", ScopeIngest, nil)
}

func TestCreateTokenRefused(t *testing.T) {
	s, _ := openTest(t, &clock{t: baseTime})
	mustCreateToken(t, s, "api", ScopeIngest, time.Time{})
	f := func(name string, scopes Scope, expires time.Time, want error, mention string) {
		t.Helper()
		secret, err := s.CreateToken(name, scopes, expires)
		if !errors.Is(err, want) || secret != "" || !strings.Contains(fmt.Sprint(err), mention) {
			t.Errorf("CreateToken(%q, %s, %s) = %q, %v; want %v mentioning %q", name, scopes, expires, secret, err, want, mention)
		}
	}
	f("api", ScopeRead, time.Time{}, ErrTokenExists, "api")
	for _, bad := range []string{"", strings.Repeat("a", 65), "-api", ".api", "a/b", "a b", "dienst-ü", "api\n"} {
		f(bad, ScopeRead, time.Time{}, ErrInvalidTokenName, tokenNameRule)
	}
	f("new", 0, time.Time{}, ErrInvalidScope, "read, ingest, admin")
	f("new", 8, time.Time{}, ErrInvalidScope, "read, ingest, admin")
	f("new", ScopeRead, baseTime, ErrInvalidExpiry, "2026-03-01T12:00:00Z is not in the future")
	f("new", ScopeRead, baseTime.Add(-time.Hour), ErrInvalidExpiry, "not in the future")
	if got := s.Tokens(); len(got) != 1 {
		t.Errorf("the refusals changed the tokens: %v", got)
	}
	for _, ok := range []string{"a", strings.Repeat("a", 64), "0", "svc_1.prod-eu"} {
		mustCreateToken(t, s, ok, ScopeRead, baseTime.Add(time.Millisecond))
	}
}

func TestRevokeUnknownToken(t *testing.T) {
	s, _ := openTest(t, &clock{t: baseTime})
	mustCreateToken(t, s, "api", ScopeIngest, time.Time{})
	for _, name := range []string{"web", "", "API"} {
		if err := s.RevokeToken(name); !errors.Is(err, ErrTokenNotFound) {
			t.Errorf("RevokeToken(%q) = %v, want ErrTokenNotFound", name, err)
		}
	}
	if err := s.RevokeToken("api"); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken("api"); !errors.Is(err, ErrTokenNotFound) {
		t.Errorf("second revoke = %v, want ErrTokenNotFound", err)
	}
}

// TestTokensSurviveReopen lists the tokens before and after a reopen: names,
// scopes, creation, expiry and last use, which Close wrote.
func TestTokensSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.db")
	clk := &clock{t: baseTime}
	db := openStore(t, path)
	s := openService(t, db, clk)
	secrets := map[string]string{}
	var want []Token
	for i, name := range []string{"web", "api", "Zeta", "batch.1", "gone"} {
		clk.set(baseTime.Add(time.Duration(i) * time.Minute))
		scopes := []Scope{ScopeIngest, ScopeRead, ScopeRead | ScopeAdmin, ScopeIngest | ScopeRead, ScopeAdmin}[i]
		var expires time.Time
		if i%2 == 1 {
			expires = baseTime.Add(24 * time.Hour)
		}
		secrets[name] = mustCreateToken(t, s, name, scopes, expires)
		want = append(want, Token{Name: name, Scopes: scopes, Created: clk.now(), Expires: expires})
	}
	if err := s.RevokeToken("gone"); err != nil {
		t.Fatal(err)
	}
	want = want[:len(want)-1]
	clk.set(baseTime.Add(time.Hour))
	if _, err := s.VerifyToken(secrets["api"]); err != nil {
		t.Fatal(err)
	}
	want[1].LastUsed = baseTime.Add(time.Hour)
	slices.SortFunc(want, func(a, b Token) int { return strings.Compare(a.Name, b.Name) })

	check := func(s *Service) {
		t.Helper()
		if got := s.Tokens(); !slices.EqualFunc(got, want, sameToken) {
			t.Errorf("Tokens = %v\nwant %v", got, want)
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	check(openService(t, db, clk))
}

func sameToken(a, b Token) bool {
	return a.Name == b.Name && a.Scopes == b.Scopes && a.Created.Equal(b.Created) && a.Expires.Equal(b.Expires) && a.LastUsed.Equal(b.LastUsed)
}

// TestLastUsedWrittenOncePerUse checks what each write of the last use
// stores: nothing for tokens unused since the last write, the newest use
// for the others.
func TestLastUsedWrittenOncePerUse(t *testing.T) {
	clk := &clock{t: baseTime}
	s, db := openTest(t, clk)
	used := mustCreateToken(t, s, "used", ScopeRead, time.Time{})
	mustCreateToken(t, s, "idle", ScopeRead, time.Time{})
	stored := func(name string) time.Time {
		t.Helper()
		v, err := db.Record(store.RecordToken, name)
		if err != nil {
			t.Fatal(err)
		}
		e, err := decodeTokenRecord(name, v)
		if err != nil {
			t.Fatal(err)
		}
		return e.token().LastUsed
	}
	for i := range 3 {
		clk.set(baseTime.Add(time.Duration(i) * time.Second))
		if _, err := s.VerifyToken(used); err != nil {
			t.Fatal(err)
		}
	}
	if got := stored("used"); !got.IsZero() {
		t.Errorf("last use stored before any write: %s", got)
	}
	if err := s.flushLastUsed(); err != nil {
		t.Fatal(err)
	}
	if got := stored("used"); !got.Equal(baseTime.Add(2 * time.Second)) {
		t.Errorf("stored last use = %s, want the third use", got)
	}
	if got := stored("idle"); !got.IsZero() {
		t.Errorf("idle token's last use = %s", got)
	}
	before, _ := db.Record(store.RecordToken, "idle")
	if err := s.RevokeToken("used"); err != nil {
		t.Fatal(err)
	}
	if err := s.flushLastUsed(); err != nil {
		t.Fatal(err)
	}
	if v, _ := db.Record(store.RecordToken, "used"); v != nil {
		t.Error("a last-use write brought back a revoked token")
	}
	if after, _ := db.Record(store.RecordToken, "idle"); !bytes.Equal(before, after) {
		t.Error("an unused token was rewritten")
	}
}

// TestLastUsedWrittenInBackground waits for the background writer, started
// with a short interval, to store a use.
func TestLastUsedWrittenInBackground(t *testing.T) {
	db := openStore(t, filepath.Join(t.TempDir(), "a.db"))
	s, err := Open(db, &Options{LastUsedInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	secret := mustCreateToken(t, s, "used", ScopeRead, time.Time{})
	if _, err := s.VerifyToken(secret); err != nil {
		t.Fatal(err)
	}
	for {
		v, _ := db.Record(store.RecordToken, "used")
		if e, err := decodeTokenRecord("used", v); err == nil && e.lastUsed.Load() != 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// TestVersion1Record opens a record written before scopes: an ingest token
// without expiry, upgraded in place once its use is written.
func TestVersion1Record(t *testing.T) {
	clk := &clock{t: baseTime}
	db := openStore(t, filepath.Join(t.TempDir(), "a.db"))
	secret := newTokenSecret()
	hash := hashSecret(secret)
	v1 := append([]byte{tokenRecordV1}, hash[:]...)
	v1 = append(v1, 0x80, 0x90, 0xd2, 0xc9, 0xcb, 0x67) // varint of a time in 2026
	if err := db.PutRecord(store.RecordToken, "legacy", v1); err != nil {
		t.Fatal(err)
	}
	s := openService(t, db, clk)
	tok, err := s.VerifyToken(secret)
	if err != nil || tok.Name != "legacy" || tok.Scopes != ScopeIngest || !tok.Expires.IsZero() || tok.Created.Year() != 2026 {
		t.Fatalf("version-1 token = %+v, %v; want ingest-scoped without expiry", tok, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	v, _ := db.Record(store.RecordToken, "legacy")
	if v[0] != tokenRecordV2 {
		t.Errorf("record after a use is version %d, want 2", v[0])
	}
	s = openService(t, db, clk)
	if tok2, err := s.VerifyToken(secret); err != nil || !sameToken(tok2, Token{Name: "legacy", Scopes: ScopeIngest, Created: tok.Created, LastUsed: baseTime}) {
		t.Errorf("after the upgrade = %+v, %v", tok2, err)
	}
}

func TestTokenSecretNotStored(t *testing.T) {
	s, db := openTest(t, &clock{t: baseTime})
	secret := mustCreateToken(t, s, "api", ScopeRead, time.Time{})
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(secret, TokenPrefix))
	if err != nil || len(raw) != tokenEntropy {
		t.Fatalf("secret %q: %d random bytes, %v", secret, len(raw), err)
	}
	hash := sha256.Sum256([]byte(secret))
	err = db.Records(store.RecordToken, func(k string, v []byte) bool {
		for _, b := range [][]byte{[]byte(k), v} {
			if bytes.Contains(b, []byte(secret)) || bytes.Contains(b, raw) || bytes.Contains(b, []byte(secret[len(TokenPrefix):])) {
				t.Errorf("tokens bucket holds the secret under %q", k)
			}
		}
		if !bytes.Contains(v, hash[:]) {
			t.Errorf("record of %q lacks the secret's hash", k)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCorruptTokenRecord(t *testing.T) {
	db := openStore(t, filepath.Join(t.TempDir(), "a.db"))
	if err := db.PutRecord(store.RecordToken, "bad", []byte{tokenRecordV2, 1, 2}); err != nil {
		t.Fatal(err)
	}
	_, err := Open(db, &Options{LastUsedInterval: -1})
	if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), `token "bad"`) {
		t.Errorf("open = %v, want ErrCorrupt naming the token", err)
	}
}

func TestDecodeTokenRecord(t *testing.T) {
	e := &tokenEntry{name: "t", hash: sha256.Sum256([]byte("s")), scopes: ScopeRead | ScopeAdmin, created: baseTime.UnixMilli(), expires: baseTime.Add(time.Hour).UnixMilli()}
	good := appendTokenRecord(nil, e, baseTime.UnixMilli())
	got, err := decodeTokenRecord("t", good)
	if err != nil || got.hash != e.hash || got.scopes != e.scopes || got.created != e.created || got.expires != e.expires || got.lastUsed.Load() != baseTime.UnixMilli() {
		t.Fatalf("round trip = %+v, %v", got, err)
	}
	f := func(v []byte) {
		t.Helper()
		if _, err := decodeTokenRecord("t", v); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("decode %x = %v, want ErrCorrupt", v, err)
		}
	}
	f(nil)
	f(good[:1])
	f(good[:len(good)-1])
	f(append(slices.Clone(good), 0))
	f(append([]byte{3}, good[1:]...))
	f(good[:34]) // version 2 cut where version 1 would end
	f(appendTokenRecord(nil, &tokenEntry{scopes: 0}, 0))
	f(appendTokenRecord(nil, &tokenEntry{scopes: 8}, 0))
}

func FuzzTokenRecord(f *testing.F) {
	e := &tokenEntry{hash: sha256.Sum256([]byte("s")), scopes: ScopeRead, created: baseTime.UnixMilli()}
	f.Add(appendTokenRecord(nil, e, 0))
	f.Add(append([]byte{tokenRecordV1}, make([]byte, 33)...))
	f.Add([]byte{tokenRecordV2})
	f.Fuzz(func(t *testing.T, v []byte) {
		e, err := decodeTokenRecord("f", v)
		if err != nil {
			if !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			return
		}
		e2, err := decodeTokenRecord("f", appendTokenRecord(nil, e, e.lastUsed.Load()))
		if err != nil || e2.hash != e.hash || e2.scopes != e.scopes || e2.created != e.created || e2.expires != e.expires || e2.lastUsed.Load() != e.lastUsed.Load() {
			t.Fatalf("record %x does not survive a round trip: %+v, %v", v, e2, err)
		}
	})
}

// TestVerifyTokenConcurrent runs under -race: VerifyToken reads the copy that
// CreateToken, RevokeToken and the last-use writes change.
func TestVerifyTokenConcurrent(t *testing.T) {
	s, _ := openTest(t, &clock{t: baseTime})
	first := mustCreateToken(t, s, "first", ScopeRead, time.Time{})
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if tok, err := s.VerifyToken(first); err != nil || tok.Name != "first" {
					t.Errorf("VerifyToken(first) = %q, %v", tok.Name, err)
					return
				}
			}
		})
	}
	for i := range 20 {
		name := fmt.Sprintf("svc-%d", i)
		secret := mustCreateToken(t, s, name, ScopeIngest, time.Time{})
		if tok, err := s.VerifyToken(secret); err != nil || tok.Name != name {
			t.Errorf("VerifyToken(%s) right after create = %q, %v", name, tok.Name, err)
		}
		if i%2 == 0 {
			if err := s.RevokeToken(name); err != nil {
				t.Fatal(err)
			}
			if _, err := s.VerifyToken(secret); !errors.Is(err, ErrTokenUnknown) {
				t.Errorf("VerifyToken(%s) after revoke = %v", name, err)
			}
		}
		if err := s.flushLastUsed(); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
}

// TestVerifyTokenAllocatesNothing holds VerifyToken to its promise for an
// accepted secret, a refused one and a malformed one.
func TestVerifyTokenAllocatesNothing(t *testing.T) {
	s, _ := openTest(t, &clock{t: baseTime})
	secret := mustCreateToken(t, s, "api", ScopeRead, time.Time{})
	for _, try := range []string{secret, newTokenSecret(), "Bearer nonsense"} {
		if n := testing.AllocsPerRun(100, func() { _, _ = s.VerifyToken(try) }); n != 0 {
			t.Errorf("VerifyToken(%.8s…) allocates %.0f times", try, n)
		}
	}
}

func BenchmarkVerifyToken(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			s, _ := openTest(b, &clock{t: baseTime})
			var secret string
			for i := range n {
				secret = mustCreateToken(b, s, fmt.Sprintf("svc-%d", i), ScopeRead, time.Time{})
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.VerifyToken(secret); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestTokenByName(t *testing.T) {
	s, _ := openTest(t, &clock{t: baseTime})
	mustCreateToken(t, s, "grafana", ScopeRead, baseTime.Add(time.Hour))
	if tok, ok := s.Token("grafana"); !ok || !sameToken(tok, Token{Name: "grafana", Scopes: ScopeRead, Created: baseTime, Expires: baseTime.Add(time.Hour)}) {
		t.Errorf("Token(grafana) = %+v, %t", tok, ok)
	}
	if tok, ok := s.Token("nobody"); ok || tok.Name != "" {
		t.Errorf("Token(nobody) = %+v, %t", tok, ok)
	}
}
