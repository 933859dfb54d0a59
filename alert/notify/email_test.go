package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// smtpMessage is one message a test SMTP server accepted.
type smtpMessage struct {
	From string
	To   []string
	User string // the AUTH PLAIN user, empty without AUTH
	TLS  bool   // whether the session had switched to TLS by DATA
	Data []byte
}

// smtpBackend starts a session per connection and hands each message over.
type smtpBackend struct{ msgs chan smtpMessage }

func (b *smtpBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &smtpSession{conn: c, msgs: b.msgs}, nil
}

// smtpSession collects one message, accepting user "atroz" with password
// "pw".
type smtpSession struct {
	conn *smtp.Conn
	msgs chan smtpMessage
	msg  smtpMessage
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "atroz" || pass != "pw" {
			return smtp.ErrAuthFailed
		}
		s.msg.User = user
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	s.msg.From = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.msg.To = append(s.msg.To, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.msg.Data = b
	_, s.msg.TLS = s.conn.TLSConnectionState()
	s.msgs <- s.msg
	return nil
}

func (s *smtpSession) Reset()        { s.msg = smtpMessage{User: s.msg.User} }
func (s *smtpSession) Logout() error { return nil }

// selfSignedCert makes a certificate for 127.0.0.1 and a pool trusting it.
func selfSignedCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "atroz test smtp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// startSMTP runs an SMTP server on a loopback port, offering STARTTLS when
// tlsConfig is set, and returns its port and its accepted messages.
func startSMTP(t *testing.T, tlsConfig *tls.Config) (int, <-chan smtpMessage) {
	t.Helper()
	msgs := make(chan smtpMessage, 10)
	s := smtp.NewServer(&smtpBackend{msgs: msgs})
	s.Domain, s.TLSConfig = "localhost", tlsConfig
	s.ReadTimeout, s.WriteTimeout = 5*time.Second, 5*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = s.Close()
		<-done
	})
	return ln.Addr().(*net.TCPAddr).Port, msgs
}

// testEmailConfig is a receiver's settings for a test server on port.
func testEmailConfig(port int) EmailConfig {
	return EmailConfig{
		Host: "127.0.0.1", Port: port, From: "AtroZ <atroz@example.com>",
		To: []string{"ops@example.com", "Jane Doe <jane@example.com>"}, Username: "atroz", Password: "pw",
	}
}

func TestEmailSTARTTLS(t *testing.T) {
	cert, pool := selfSignedCert(t)
	port, msgs := startSMTP(t, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	cfg := testEmailConfig(port)
	cfg.TLSConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	r, err := NewEmailReceiver(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n := notifyFiring()
	n.Labels["route"] = `/api/<script>alert("x")</script>`
	if err := r.Send(context.Background(), []*Notification{n}); err != nil {
		t.Fatal(err)
	}
	var m smtpMessage
	select {
	case m = <-msgs:
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5s")
	}
	if !m.TLS || m.User != "atroz" || m.From != "atroz@example.com" || strings.Join(m.To, ",") != "ops@example.com,jane@example.com" {
		t.Errorf("envelope: tls %v user %q from %q to %v", m.TLS, m.User, m.From, m.To)
	}
	plain, html := emailParts(t, m.Data)
	for _, want := range []string{"FIRING: HighLatency", n.Annotations["summary"], "value: 0.523", `route = /api/<script>alert("x")</script>`, n.GeneratorURL} {
		if !strings.Contains(plain, want) {
			t.Errorf("plain part lacks %q:\n%s", want, plain)
		}
	}
	for _, want := range []string{"FIRING: HighLatency", "<b>0.523</b>", "/api/&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;", `<a href="` + n.GeneratorURL + `">`} {
		if !strings.Contains(html, want) {
			t.Errorf("html part lacks %q:\n%s", want, html)
		}
	}
	if strings.Contains(html, "<script>") {
		t.Errorf("html part has an unescaped label:\n%s", html)
	}
}

// emailParts parses a multipart/alternative message and returns its
// decoded plain-text and HTML parts, checking the headers on the way.
func emailParts(t *testing.T, data []byte) (plain, html string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subject != "[FIRING] HighLatency" || msg.Header.Get("To") != `<ops@example.com>, "Jane Doe" <jane@example.com>` {
		t.Errorf("headers %v (subject %q)", msg.Header, subject)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("content type %q: %v", mediaType, err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	parts := map[string]string{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p) // NextPart decodes quoted-printable
		parts[p.Header.Get("Content-Type")] = string(b)
	}
	if len(parts) != 2 {
		t.Errorf("%d parts, want 2: %v", len(parts), parts)
	}
	return parts["text/plain; charset=UTF-8"], parts["text/html; charset=UTF-8"]
}

func TestEmailRequiresTLS(t *testing.T) {
	port, _ := startSMTP(t, nil)
	r, err := NewEmailReceiver(testEmailConfig(port))
	if err != nil {
		t.Fatal(err)
	}
	err = r.Send(context.Background(), []*Notification{notifyFiring()})
	if !errors.Is(err, ErrTLSRequired) || isRetryable(err) {
		t.Fatalf("error %v, want ErrTLSRequired, not retryable", err)
	}
	if want := "email email: smtp server does not offer STARTTLS and TLS is required"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestEmailAllowInsecure(t *testing.T) {
	port, msgs := startSMTP(t, nil)
	cfg := testEmailConfig(port)
	cfg.Username, cfg.AllowInsecure = "", true
	r, err := NewEmailReceiver(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Send(context.Background(), []*Notification{notifyResolved(notifyFiring())}); err != nil {
		t.Fatal(err)
	}
	if m := <-msgs; m.TLS || !strings.Contains(string(m.Data), "RESOLVED") {
		t.Errorf("message tls %v:\n%s", m.TLS, m.Data)
	}
}

func TestEmailConfig(t *testing.T) {
	f := func(cfg EmailConfig, wantErr string) {
		t.Helper()
		_, err := NewEmailReceiver(cfg)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%+v: error %v, want %q", cfg, err, wantErr)
		}
	}
	f(EmailConfig{To: []string{"a@b.c"}, From: "x@y.z"}, "host and at least one recipient are required")
	f(EmailConfig{Host: "h", From: "x@y.z"}, "host and at least one recipient are required")
	f(EmailConfig{Host: "h", From: "nobody", To: []string{"a@b.c"}}, `email email: from "nobody"`)
	f(EmailConfig{Name: "ops", Host: "h", From: "x@y.z", To: []string{"a@b.c", "bad"}}, `email ops: to "bad"`)
	r, err := NewEmailReceiver(EmailConfig{Host: "h", From: "x@y.z", To: []string{"a@b.c"}})
	if err != nil || r.cfg.Port != 587 {
		t.Errorf("defaults: %v %+v", err, r)
	}
}

func TestEmailHTMLEscapesLabels(t *testing.T) {
	var b bytes.Buffer
	if err := emailHTML.Execute(&b, newEmailData([]*Notification{notifyHostile()})); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	// html/template escapes every value: the summary's tag is text, and
	// the Markdown link, which HTML does not render, stays text too.
	for _, bad := range []string{"<img", "<!channel>", `href="https://evil.example"`} {
		if strings.Contains(html, bad) {
			t.Errorf("HTML part holds %s:\n%s", bad, html)
		}
	}
	if !strings.Contains(html, "&lt;img src=x onerror=alert(1)&gt;") || !strings.Contains(html, "/[Reset your password](https://evil.example)") {
		t.Errorf("HTML part does not show the labels as text:\n%s", html)
	}
}
