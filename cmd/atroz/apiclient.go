package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// The client side of the server's HTTP API, shared by atroz demo and
// atroz load.

// loginRenewMargin is how long before its expiry a login is renewed. It
// outlasts every demo WebSocket client, so none is closed for an expired
// session.
const loginRenewMargin = 5 * time.Minute

// credentialsFromEnv fills the ingest token, user and password left empty
// by the flags from $ATROZ_TOKEN, $ATROZ_USER and $ATROZ_PASSWORD. They are
// read after parsing, so that usage never prints them as defaults.
func (e *Env) credentialsFromEnv(token, user, password *string) {
	for key, v := range map[string]*string{"ATROZ_TOKEN": token, "ATROZ_USER": user, "ATROZ_PASSWORD": password} {
		if env, ok := e.LookupEnv(key); ok && *v == "" {
			*v = env
		}
	}
}

// credentials fills the token, user and password as credentialsFromEnv
// does, after reading the password from the first line of passwordFile
// when one is named: unlike -password, neither shows in ps.
func (e *Env) credentials(token, user, password *string, passwordFile string) error {
	if passwordFile != "" {
		if *password != "" {
			return errors.New("-password-file: give it or -password, not both")
		}
		pw, err := readPasswordFile(passwordFile)
		if err != nil {
			return fmt.Errorf("-password-file: %w", err)
		}
		*password = pw
	}
	e.credentialsFromEnv(token, user, password)
	return nil
}

// apiLogin logs in to the server's API and renews the login before it
// expires. It is safe for concurrent use.
type apiLogin struct {
	client         *http.Client
	url            string
	user, password string
	mu             sync.Mutex
	jwt            string
	expires        time.Time
}

// token returns a login token valid for at least loginRenewMargin, or for
// as long as the server grants, logging in when needed.
func (l *apiLogin) token(ctx context.Context) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.jwt != "" && time.Until(l.expires) > loginRenewMargin {
		return l.jwt, nil
	}
	if err := l.logIn(ctx); err != nil {
		return "", err
	}
	return l.jwt, nil
}

// logIn posts the user name and password to the login URL.
func (l *apiLogin) logIn(ctx context.Context) error {
	body, err := json.Marshal(map[string]string{"username": l.user, "password": l.password})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url, bytes.NewReader(body)) // #nosec G704 -- the URL is the operator's -target
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := l.client.Do(req) // #nosec G704 -- the URL is the operator's -target
	if err != nil {
		return fmt.Errorf("log in as %s: %w", l.user, err)
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("log in as %s: %s", l.user, serverError(resp))
	}
	var out struct {
		Data struct {
			Token   string    `json:"token"`
			Expires time.Time `json:"expires"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Data.Token == "" {
		return fmt.Errorf("log in as %s: the server's answer holds no token", l.user)
	}
	l.jwt, l.expires = out.Data.Token, out.Data.Expires
	return nil
}

// serverError returns the status and the error message of a server's
// JSON error answer.
func serverError(resp *http.Response) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.NewDecoder(io.LimitReader(resp.Body, 4<<10)).Decode(&e) != nil || e.Error == "" {
		return resp.Status
	}
	return resp.Status + ": " + e.Error
}

// drain reads what is left of a response so its connection is reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}
