package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"time"
)

// EmailConfig configures an EmailReceiver.
type EmailConfig struct {
	// Name names the receiver in logs and metrics. Default "email".
	Name string
	// Host is the SMTP server's name, also checked against its certificate.
	// Required.
	Host string
	// Port is the SMTP server's port. Default 587 (submission).
	Port int
	// From is the sender's address, such as "AtroZ <atroz@example.com>".
	// Required.
	From string
	// To are the recipients' addresses. At least one is required.
	To []string
	// Username, when set, logs in with AUTH PLAIN, which needs TLS (or a
	// server on localhost).
	Username string
	// Password is Username's password.
	Password string
	// TLSConfig verifies the server after STARTTLS. Default the system's
	// roots, with ServerName Host.
	TLSConfig *tls.Config
	// AllowInsecure lets mail go out in plain text when the server does not
	// offer STARTTLS. Default false: TLS is required and Send fails with
	// ErrTLSRequired, so credentials and alerts never cross the network in
	// clear by accident.
	AllowInsecure bool
	// Hello is the name sent with EHLO. Default "localhost".
	Hello string
	// Now tells the time of the Date header. Default time.Now.
	Now func() time.Time
}

// EmailReceiver mails notifications over SMTP with STARTTLS: one message
// per batch, with a plain-text and an HTML part.
type EmailReceiver struct {
	cfg  EmailConfig
	from *mail.Address
	to   []*mail.Address
}

// NewEmailReceiver checks cfg's addresses and returns the receiver.
func NewEmailReceiver(cfg EmailConfig) (*EmailReceiver, error) {
	if cfg.Name == "" {
		cfg.Name = "email"
	}
	r, err := newEmailReceiver(cfg)
	if err != nil {
		return nil, fmt.Errorf("email %s: %w", cfg.Name, err)
	}
	return r, nil
}

// newEmailReceiver fills in cfg's defaults and parses its addresses.
func newEmailReceiver(cfg EmailConfig) (*EmailReceiver, error) {
	setDefault(&cfg.Port, 587)
	if cfg.Hello == "" {
		cfg.Hello = "localhost"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Host == "" || len(cfg.To) == 0 {
		return nil, errors.New("host and at least one recipient are required")
	}
	r := &EmailReceiver{cfg: cfg}
	var err error
	if r.from, err = mail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("from %q: %w", cfg.From, err)
	}
	for _, to := range cfg.To {
		a, err := mail.ParseAddress(to)
		if err != nil {
			return nil, fmt.Errorf("to %q: %w", to, err)
		}
		r.to = append(r.to, a)
	}
	return r, nil
}

// Name returns the receiver's name.
func (r *EmailReceiver) Name() string { return r.cfg.Name }

// Send mails ns as one message to every recipient.
func (r *EmailReceiver) Send(ctx context.Context, ns []*Notification) error {
	msg, err := r.message(ns)
	if err == nil {
		err = r.deliver(ctx, msg)
	}
	if err != nil {
		return fmt.Errorf("email %s: %w", r.cfg.Name, emailRetryable(err))
	}
	return nil
}

// deliver runs one SMTP session, bounded by ctx.
func (r *EmailReceiver) deliver(ctx context.Context, msg []byte) error {
	addr := net.JoinHostPort(r.cfg.Host, strconv.Itoa(r.cfg.Port))
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	// net/smtp knows no context: an expired deadline unblocks its reads.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, err := smtp.NewClient(conn, r.cfg.Host)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	if err := r.open(c); err != nil {
		return err
	}
	return r.transfer(c, msg)
}

// open greets the server, starts TLS and logs in.
func (r *EmailReceiver) open(c *smtp.Client) error {
	if err := c.Hello(r.cfg.Hello); err != nil {
		return fmt.Errorf("hello: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(r.tlsConfig()); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	} else if !r.cfg.AllowInsecure {
		return ErrTLSRequired
	}
	if r.cfg.Username == "" {
		return nil
	}
	if ok, _ := c.Extension("AUTH"); !ok {
		return errors.New("auth: server does not offer AUTH")
	}
	if err := c.Auth(smtp.PlainAuth("", r.cfg.Username, r.cfg.Password, r.cfg.Host)); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	return nil
}

// tlsConfig is the configured one with ServerName and a floor of TLS 1.2.
func (r *EmailReceiver) tlsConfig() *tls.Config {
	cfg := &tls.Config{}
	if r.cfg.TLSConfig != nil {
		cfg = r.cfg.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = r.cfg.Host
	}
	cfg.MinVersion = max(cfg.MinVersion, tls.VersionTLS12)
	return cfg
}

// transfer sends the envelope and the message, then quits.
func (r *EmailReceiver) transfer(c *smtp.Client, msg []byte) error {
	if err := c.Mail(r.from.Address); err != nil {
		return fmt.Errorf("mail from: %w", err)
	}
	for _, to := range r.to {
		if err := c.Rcpt(to.Address); err != nil {
			return fmt.Errorf("rcpt to %s: %w", to.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	return c.Quit()
}

// emailRetryable marks an SMTP 4xx reply, a transient failure, retryable.
func emailRetryable(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 400 && te.Code < 500 {
		return fmt.Errorf("%w (%w)", err, ErrRetryable)
	}
	return err
}
