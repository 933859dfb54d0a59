package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// demoOwnToken creates an ingest-scoped API token for this run through the
// admin API, when the demo was given an admin login and no token, and
// returns its name; the demo revokes it when it stops.
func (d *demo) demoOwnToken(ctx context.Context) (string, error) {
	jwt, err := d.sockets.login.token(ctx)
	if err != nil {
		return "", err
	}
	name := "demo-" + strconv.FormatInt(time.Now().Unix(), 10)
	body, _ := json.Marshal(map[string]any{"name": name, "scopes": []string{"ingest"}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.o.target.JoinPath("api/v1/admin/tokens").String(), bytes.NewReader(body)) // #nosec G704 -- the URL is the operator's -target
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+jwt)
	resp, err := d.client.Do(req) // #nosec G704 -- the URL is the operator's -target
	if err != nil {
		return "", fmt.Errorf("create an ingest token: %w", err)
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("create an ingest token as %s (an admin may; or pass -token): %s", d.o.user, serverError(resp))
	}
	var out struct {
		Data struct {
			Token string `json:"token"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Data.Token == "" {
		return "", fmt.Errorf("create an ingest token: unreadable answer: %v", err)
	}
	d.o.token = out.Data.Token
	d.requests, d.beacons = demoEndpoints(d.o)
	return name, nil
}

// revokeOwnToken revokes the token demoOwnToken created. It runs after
// the demo's context has ended, so it has a few seconds of its own.
func (d *demo) revokeOwnToken(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), demoRequestTimeout)
	defer cancel()
	jwt, err := d.sockets.login.token(ctx)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, d.o.target.JoinPath("api/v1/admin/tokens").String()+"/"+url.PathEscape(name), nil) // #nosec G704 -- the URL is the operator's -target
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+jwt)
	resp, err := d.client.Do(req) // #nosec G704 -- the URL is the operator's -target
	if err != nil {
		return fmt.Errorf("revoke ingest token %s: %w", name, err)
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("revoke ingest token %s: %s", name, serverError(resp))
	}
	return nil
}
