package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// defaultVersion is the version in the User-Agent when the caller gives none.
const defaultVersion = "dev"

// httpTarget is what the HTTP receivers share: where to post, with which
// client, and the User-Agent to post as.
type httpTarget struct {
	url       string
	client    *http.Client
	userAgent string
}

// newHTTPTarget checks rawURL and fills in the defaults of the client and
// version.
func newHTTPTarget(rawURL string, client *http.Client, version string) (httpTarget, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return httpTarget{}, errors.New("invalid URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return httpTarget{}, fmt.Errorf("URL %s: want an absolute http or https URL", redactURL(rawURL))
	}
	if client == nil {
		client = &http.Client{}
	}
	if version == "" {
		version = defaultVersion
	}
	return httpTarget{url: rawURL, client: client, userAgent: "AtroZ/" + version}, nil
}

// postJSON encodes v and posts it.
func (t httpTarget) postJSON(ctx context.Context, v any, header http.Header) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	return t.post(ctx, body, header)
}

// post sends body as JSON with the extra headers; an answer other than 2xx
// is a *StatusError.
func (t httpTarget) post(ctx context.Context, body []byte, header http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("request: %w", redactURLError(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", t.userAgent)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return redactURLError(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newStatusError(resp)
	}
	// Reading the rest lets the connection be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return nil
}

// redactURLError keeps secrets in the URL's path and query (Slack, Teams and
// PagerDuty put them there) out of error messages and so out of the logs.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = redactURL(ue.URL)
	}
	return err
}

// redactURL returns the scheme and host of rawURL.
func redactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return "<invalid URL>"
	}
	return u.Scheme + "://" + u.Host + "/..."
}
