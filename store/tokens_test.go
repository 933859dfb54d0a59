package store

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

	bolt "go.etcd.io/bbolt"
)

func mustCreateToken(t testing.TB, db *DB, name string) string {
	t.Helper()
	secret, err := db.CreateToken(name)
	if err != nil {
		t.Fatalf("create token %q: %v", name, err)
	}
	return secret
}

func TestVerifyToken(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "a.db"), &testClock{baseTime}, nil)
	api := mustCreateToken(t, db, "api")
	web := mustCreateToken(t, db, "web")
	if !strings.HasPrefix(api, "atz_") || len(api) != tokenSecretLen {
		t.Errorf("secret %q: want atz_ and %d characters", api, tokenSecretLen)
	}
	if api == web {
		t.Fatal("two tokens share a secret")
	}
	if err := db.RevokeToken("web"); err != nil {
		t.Fatal(err)
	}
	f := func(secret, wantName string, wantOK bool) {
		t.Helper()
		name, ok := db.VerifyToken(secret)
		if name != wantName || ok != wantOK {
			t.Errorf("VerifyToken(%q) = %q, %t; want %q, %t", secret, name, ok, wantName, wantOK)
		}
	}
	f(api, "api", true)
	f(web, "", false)
	f("", "", false)
	f(api[:len(api)-1], "", false)
	f(api+"x", "", false)
	f(strings.ToUpper(api), "", false)
	f(strings.Repeat("a", 1000), "", false)
}

func TestCreateTokenRefused(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "a.db"), &testClock{baseTime}, nil)
	mustCreateToken(t, db, "api")
	f := func(name string, want error) {
		t.Helper()
		secret, err := db.CreateToken(name)
		if !errors.Is(err, want) || secret != "" {
			t.Errorf("CreateToken(%q) = %q, %v; want %v", name, secret, err, want)
		}
	}
	f("api", ErrTokenExists)
	f("", ErrInvalidTokenName)
	f(strings.Repeat("a", 65), ErrInvalidTokenName)
	f("-api", ErrInvalidTokenName)
	f(".api", ErrInvalidTokenName)
	f("a/b", ErrInvalidTokenName)
	f("a b", ErrInvalidTokenName)
	f("dienst-ü", ErrInvalidTokenName)
	f("api\n", ErrInvalidTokenName)

	_, err := db.CreateToken("a/b")
	if err == nil || !strings.Contains(err.Error(), tokenNameRule) {
		t.Errorf("error %v does not state the rule", err)
	}
	for _, ok := range []string{"a", strings.Repeat("a", 64), "0", "svc_1.prod-eu"} {
		mustCreateToken(t, db, ok)
	}
}

func TestRevokeUnknownToken(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "a.db"), &testClock{baseTime}, nil)
	mustCreateToken(t, db, "api")
	for _, name := range []string{"web", "", "API"} {
		if err := db.RevokeToken(name); !errors.Is(err, ErrTokenNotFound) {
			t.Errorf("RevokeToken(%q) = %v, want ErrTokenNotFound", name, err)
		}
	}
	if err := db.RevokeToken("api"); err != nil {
		t.Fatal(err)
	}
	if err := db.RevokeToken("api"); !errors.Is(err, ErrTokenNotFound) {
		t.Errorf("second revoke = %v, want ErrTokenNotFound", err)
	}
}

func TestListTokensSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.db")
	clk := &testClock{baseTime}
	db := openTest(t, path, clk, nil)
	secrets := map[string]string{}
	var want []Token
	for i, name := range []string{"web", "api", "Zeta", "batch.1", "gone"} {
		clk.t = baseTime.Add(time.Duration(i) * time.Minute)
		secrets[name] = mustCreateToken(t, db, name)
		want = append(want, Token{name, clk.t})
	}
	if err := db.RevokeToken("gone"); err != nil {
		t.Fatal(err)
	}
	want = want[:len(want)-1]
	delete(secrets, "gone")
	slices.SortFunc(want, func(a, b Token) int { return strings.Compare(a.Name, b.Name) })

	check := func(db *DB) {
		t.Helper()
		got, err := db.ListTokens()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(got, want, func(a, b Token) bool { return a.Name == b.Name && a.Created.Equal(b.Created) }) {
			t.Errorf("ListTokens = %v, want %v", got, want)
		}
		for name, secret := range secrets {
			if got, ok := db.VerifyToken(secret); !ok || got != name {
				t.Errorf("VerifyToken(secret of %s) = %q, %t", name, got, ok)
			}
		}
	}
	check(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, path, clk, nil)
	check(db)
	if err := db.Check(); err != nil {
		t.Errorf("check: %v", err)
	}
}

func TestTokenSecretNotStored(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "a.db"), &testClock{baseTime}, nil)
	secret := mustCreateToken(t, db, "api")
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(secret, tokenPrefix))
	if err != nil || len(raw) != tokenEntropy {
		t.Fatalf("secret %q: %d random bytes, %v", secret, len(raw), err)
	}
	hash := sha256.Sum256([]byte(secret))
	err = db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bTokens).ForEach(func(k, v []byte) error {
			for _, b := range [][]byte{k, v} {
				if bytes.Contains(b, []byte(secret)) || bytes.Contains(b, raw) || bytes.Contains(b, []byte(secret[len(tokenPrefix):])) {
					t.Errorf("tokens bucket holds the secret under %q", k)
				}
			}
			if !bytes.Contains(v, hash[:]) {
				t.Errorf("record of %q lacks the secret's hash", k)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCorruptTokenRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.db")
	clk := &testClock{baseTime}
	db := openTest(t, path, clk, nil)
	mustCreateToken(t, db, "api")
	err := db.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bTokens).Put([]byte("bad"), []byte{tokenRecordVersion, 1, 2})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Check(); err == nil || !strings.Contains(err.Error(), `token "bad"`) || !errors.Is(err, ErrCorrupt) {
		t.Errorf("check = %v, want the corrupt token named", err)
	}
	if _, err := db.ListTokens(); !errors.Is(err, ErrCorrupt) {
		t.Errorf("ListTokens = %v, want ErrCorrupt", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Open(path, &Options{FlushInterval: -1, PruneInterval: -1, Now: clk.now})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), `token "bad"`) {
		t.Errorf("open = %v, want ErrCorrupt naming the token", err)
	}
}

func TestDecodeTokenRecord(t *testing.T) {
	hash := sha256.Sum256([]byte("s"))
	good := appendTokenRecord(nil, &hash, baseTime)
	gotHash, created, err := decodeTokenRecord(good)
	if err != nil || gotHash != hash || !created.Equal(baseTime) {
		t.Fatalf("round trip = %x, %s, %v", gotHash, created, err)
	}
	f := func(v []byte) {
		t.Helper()
		if _, _, err := decodeTokenRecord(v); !errors.Is(err, ErrCorrupt) {
			t.Errorf("decode %x = %v, want ErrCorrupt", v, err)
		}
	}
	f(nil)
	f(good[:1])
	f(good[:len(good)-1])
	f(append(slices.Clone(good), 0))
	f(append([]byte{2}, good[1:]...))
}

func FuzzTokenRecord(f *testing.F) {
	hash := sha256.Sum256([]byte("s"))
	f.Add(appendTokenRecord(nil, &hash, baseTime))
	f.Add([]byte{tokenRecordVersion})
	f.Fuzz(func(t *testing.T, v []byte) {
		hash, created, err := decodeTokenRecord(v)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			return
		}
		hash2, created2, err := decodeTokenRecord(appendTokenRecord(nil, &hash, created))
		if err != nil || hash2 != hash || !created2.Equal(created) {
			t.Fatalf("record %x does not survive a round trip: %x, %s, %v", v, hash2, created2, err)
		}
	})
}

// TestVerifyTokenConcurrent runs under -race: VerifyToken reads the copy that
// CreateToken and RevokeToken change.
func TestVerifyTokenConcurrent(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "a.db"), &testClock{baseTime}, nil)
	first := mustCreateToken(t, db, "first")
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
				if name, ok := db.VerifyToken(first); !ok || name != "first" {
					t.Errorf("VerifyToken(first) = %q, %t", name, ok)
					return
				}
			}
		})
	}
	for i := range 20 {
		name := fmt.Sprintf("svc-%d", i)
		secret := mustCreateToken(t, db, name)
		if got, ok := db.VerifyToken(secret); !ok || got != name {
			t.Errorf("VerifyToken(%s) right after create = %q, %t", name, got, ok)
		}
		if i%2 == 0 {
			if err := db.RevokeToken(name); err != nil {
				t.Fatal(err)
			}
			if _, ok := db.VerifyToken(secret); ok {
				t.Errorf("VerifyToken(%s) accepted after revoke", name)
			}
		}
	}
	close(done)
	wg.Wait()
}

func BenchmarkVerifyToken(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			db := openTest(b, filepath.Join(b.TempDir(), "a.db"), &testClock{baseTime}, nil)
			var secret string
			for i := range n {
				secret = mustCreateToken(b, db, fmt.Sprintf("svc-%d", i))
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := db.VerifyToken(secret); !ok {
					b.Fatal("refused")
				}
			}
		})
	}
}
