package web

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// writeSelfSigned writes a self-signed certificate for 127.0.0.1 and its key
// as PEM files in a temporary directory and returns their paths and the
// certificate.
func writeSelfSigned(t *testing.T) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "atroz test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("create certificate: %v", err)
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("marshal key: %v", err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "PRIVATE KEY", keyDER)
	return certFile, keyFile, cert
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

func TestTLSConfig(t *testing.T) {
	certFile, keyFile, cert := writeSelfSigned(t)
	cfg, err := TLSConfig(certFile, keyFile)
	if err != nil {
		t.Fatalf("TLSConfig: %v", err)
	}
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %x, want TLS 1.2", cfg.MinVersion)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	var serverLog syncBuffer
	srv.Config.ErrorLog = log.New(&serverLog, "", 0)
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(cert)

	f := func(minV, maxV uint16, wantErr bool) {
		t.Helper()
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: minV, MaxVersion: maxV}}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(srv.URL)
		if wantErr {
			if err == nil {
				_ = resp.Body.Close()
				t.Errorf("TLS %x..%x: connected, want a refused handshake", minV, maxV)
			}
			return
		}
		if err != nil {
			t.Fatalf("TLS %x..%x: %v", minV, maxV, err)
		}
		_ = resp.Body.Close()
		if resp.TLS.Version != maxV {
			t.Errorf("negotiated %x, want %x", resp.TLS.Version, maxV)
		}
	}
	f(tls.VersionTLS10, tls.VersionTLS11, true)
	// The server logs the refusal after sending its alert to the client.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(serverLog.String(), "unsupported versions") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(serverLog.String(), "unsupported versions") {
		t.Errorf("server log = %q, want the server to refuse the TLS 1.1 client", serverLog.String())
	}
	f(tls.VersionTLS12, tls.VersionTLS12, false)
	f(tls.VersionTLS13, tls.VersionTLS13, false)
}

func TestTLSConfigErrors(t *testing.T) {
	certFile, keyFile, _ := writeSelfSigned(t)
	missing := filepath.Join(t.TempDir(), "missing.pem")
	f := func(cert, key, want string) {
		t.Helper()
		_, err := TLSConfig(cert, key)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("TLSConfig(%s, %s) error = %v, want it to contain %q", cert, key, err, want)
		}
	}
	f(missing, keyFile, "TLS certificate: open "+missing)
	f(certFile, missing, "TLS key: open "+missing)
	f(keyFile, certFile, "TLS certificate "+keyFile+" with key "+certFile)
}

func TestRedirectToHTTPS(t *testing.T) {
	f := func(port, method, host, target, want string) {
		t.Helper()
		r := httptest.NewRequest(method, target, strings.NewReader(`{"fps":60}`))
		r.Host = host
		w := httptest.NewRecorder()
		RedirectToHTTPS(port).ServeHTTP(w, r)
		if w.Code != http.StatusPermanentRedirect {
			t.Errorf("%s %s%s: status = %d, want 308", method, host, target, w.Code)
		}
		if got := w.Header().Get("Location"); got != want {
			t.Errorf("%s %s%s: Location = %q, want %q", method, host, target, got, want)
		}
	}
	f("8443", http.MethodGet, "atroz.example.com:8080", "/d?from=now-1h&x=a%20b", "https://atroz.example.com:8443/d?from=now-1h&x=a%20b")
	f("8443", http.MethodPost, "atroz.example.com:8080", "/api/v1/beacons", "https://atroz.example.com:8443/api/v1/beacons")
	f("443", http.MethodGet, "atroz.example.com", "/", "https://atroz.example.com/")
	f("", http.MethodPost, "atroz.example.com:80", "/api/v1/beacons?k=v", "https://atroz.example.com/api/v1/beacons?k=v")
	f("8443", http.MethodGet, "[::1]:8080", "/x", "https://[::1]:8443/x")
	f("8443", http.MethodGet, "127.0.0.1", "//evil.example/x", "https://127.0.0.1:8443//evil.example/x")

	bad := func(host string) {
		t.Helper()
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Host = host
		w := httptest.NewRecorder()
		RedirectToHTTPS("443").ServeHTTP(w, r)
		if w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" {
			t.Errorf("Host %q: status = %d, Location = %q; want 400 and no redirect", host, w.Code, w.Header().Get("Location"))
		}
	}
	bad("")
	bad("evil.example/x")
	bad("user@evil.example")
	bad("[fe80::zz]:80")
}

func TestIsHTTPS(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	f := func(trustedProxy, viaTLS bool, peer, xff, proto string, want bool) {
		t.Helper()
		e := gin.New()
		if err := e.SetTrustedProxies([]string{"10.0.0.1"}); err != nil {
			t.Fatal(err)
		}
		var got bool
		e.GET("/", func(c *gin.Context) { got = IsHTTPS(trustedProxy)(c) })
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = peer
		if viaTLS {
			r.TLS = &tls.ConnectionState{}
		}
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		if proto != "" {
			r.Header.Set("X-Forwarded-Proto", proto)
		}
		e.ServeHTTP(httptest.NewRecorder(), r)
		if got != want {
			t.Errorf("trustedProxy=%v tls=%v peer=%s xff=%q proto=%q: %v, want %v", trustedProxy, viaTLS, peer, xff, proto, got, want)
		}
	}
	f(false, true, "192.0.2.1:1", "", "", true)
	f(true, true, "192.0.2.1:1", "", "", true)
	f(false, false, "192.0.2.1:1", "", "", false)
	// Through the trusted proxy.
	f(true, false, "10.0.0.1:1", "203.0.113.9", "https", true)
	f(true, false, "10.0.0.1:1", "203.0.113.9", "HTTPS, http", true)
	f(true, false, "10.0.0.1:1", "203.0.113.9", "http", false)
	f(false, false, "10.0.0.1:1", "203.0.113.9", "https", false)
	// A direct client forging the proxy's headers.
	f(true, false, "192.0.2.1:1", "203.0.113.9", "https", false)
	f(true, false, "192.0.2.1:1", "", "https", false)
}

func TestTLSConfigOffersAEADSuitesOnly(t *testing.T) {
	certFile, keyFile, cert := writeSelfSigned(t)
	cfg, err := TLSConfig(certFile, keyFile)
	if err != nil {
		t.Fatalf("TLSConfig: %v", err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_ = conn.(*tls.Conn).Handshake()
				_ = conn.Close()
			}()
		}
	}()
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	f := func(suite uint16, wantOK bool) {
		t.Helper()
		conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{suite}})
		if err == nil {
			got := conn.ConnectionState().CipherSuite
			_ = conn.Close()
			if !wantOK || got != suite {
				t.Errorf("a client offering only %s negotiated %s; want the handshake %s", tls.CipherSuiteName(suite), tls.CipherSuiteName(got), map[bool]string{true: "to use it", false: "refused"}[wantOK])
			}
			return
		}
		if wantOK {
			t.Errorf("a client offering only %s: %v, want a handshake", tls.CipherSuiteName(suite), err)
		}
	}
	f(tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, false)
	f(tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, false)
	f(tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, false)
	f(tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true)
	f(tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, true)
	f(tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, true)
}

func TestRedirectServerTimeouts(t *testing.T) {
	s, _ := newTestServer(t)
	r := s.RedirectServer("8443")
	if r.ReadHeaderTimeout != DefaultReadHeaderTimeout || r.ReadTimeout != DefaultReadTimeout ||
		r.WriteTimeout != DefaultWriteTimeout || r.IdleTimeout != DefaultIdleTimeout || r.ErrorLog != s.http.ErrorLog {
		t.Errorf("redirect server timeouts = %s %s %s %s, error log %p; want the main server's %s %s %s %s, %p",
			r.ReadHeaderTimeout, r.ReadTimeout, r.WriteTimeout, r.IdleTimeout, r.ErrorLog,
			s.http.ReadHeaderTimeout, s.http.ReadTimeout, s.http.WriteTimeout, s.http.IdleTimeout, s.http.ErrorLog)
	}
	w := httptest.NewRecorder()
	r.Handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://atroz.example/x", nil))
	if w.Code != http.StatusPermanentRedirect || w.Header().Get("Location") != "https://atroz.example:8443/x" {
		t.Errorf("redirect server: %d to %q", w.Code, w.Header().Get("Location"))
	}
}
