package web

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/gin-gonic/gin"
)

// aeadSuites are the TLS 1.2 cipher suites offered: ECDHE with AES-GCM or
// ChaCha20-Poly1305, Mozilla's intermediate list. CBC suites, with their
// SHA-1 MACs and padding oracles, and RSA key exchange are left out; TLS 1.3
// suites are not configurable and all AEAD.
var aeadSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// TLSConfig loads the PEM certificate chain in certFile and its private key
// in keyFile into a server configuration that accepts TLS 1.2 and later,
// TLS 1.2 with ECDHE AEAD suites only. Its errors name the file at fault.
func TLSConfig(certFile, keyFile string) (*tls.Config, error) {
	certPEM, err := os.ReadFile(filepath.Clean(certFile))
	if err != nil {
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Clean(keyFile))
	if err != nil {
		return nil, fmt.Errorf("TLS key: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s with key %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, CipherSuites: aeadSuites, Certificates: []tls.Certificate{cert}}, nil
}

// RedirectToHTTPS answers every request with 308 Permanent Redirect to the
// same host, path and query over HTTPS on httpsPort (omitted when empty or
// 443). 308, unlike 301, keeps the method and body, so a beacon POST sent to
// the HTTP port still arrives.
func RedirectToHTTPS(httpsPort string) http.Handler {
	port := ""
	if httpsPort != "" && httpsPort != "443" {
		port = ":" + httpsPort
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, ok := requestHost(r.Host)
		if !ok {
			http.Error(w, "a valid Host header is required", http.StatusBadRequest)
			return
		}
		target := "https://" + host + port + r.URL.RequestURI()
		w.Header().Set("Location", target)
		w.WriteHeader(http.StatusPermanentRedirect)
	})
}

// RedirectServer returns the server of RedirectToHTTPS(httpsPort), with
// this Server's timeouts and error log, so a slow or idle client holds a
// connection of the redirect port no longer than one of the main port.
func (s *Server) RedirectServer(httpsPort string) *http.Server {
	return &http.Server{
		Handler:           RedirectToHTTPS(httpsPort),
		ReadHeaderTimeout: s.http.ReadHeaderTimeout,
		ReadTimeout:       s.http.ReadTimeout,
		WriteTimeout:      s.http.WriteTimeout,
		IdleTimeout:       s.http.IdleTimeout,
		ErrorLog:          s.http.ErrorLog,
	}
}

// requestHost is the host of a Host header without its port, with IPv6
// brackets kept, and whether it is a plain host name or address.
func requestHost(hostport string) (string, bool) {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return "", false
	}
	if strings.Contains(host, ":") {
		if net.ParseIP(host) == nil {
			return "", false
		}
		return "[" + host + "]", true
	}
	u, err := url.Parse("https://" + host)
	if err != nil || u.Host != host || u.User != nil {
		return "", false
	}
	return host, true
}

// IsHTTPS returns a function reporting whether a request reached the client
// over HTTPS: TLS on this connection, or, when trustedProxy, a proxy that gin
// trusts (Config.TrustedProxies) forwarded it with X-Forwarded-Proto: https
// and X-Forwarded-For. A client that connects directly cannot claim HTTPS with
// a forged header: gin ignores its X-Forwarded-For, so its ClientIP stays its
// RemoteIP.
func IsHTTPS(trustedProxy bool) func(*gin.Context) bool {
	return func(c *gin.Context) bool {
		if c.Request.TLS != nil {
			return true
		}
		if !trustedProxy || c.ClientIP() == c.RemoteIP() {
			return false
		}
		proto, _, _ := strings.Cut(c.GetHeader("X-Forwarded-Proto"), ",")
		return strings.EqualFold(strings.TrimSpace(proto), "https")
	}
}
