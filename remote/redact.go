package remote

import (
	"errors"
	"net/url"
	"strings"
)

// urlRedacted stands for a hidden part of a URL, as url.URL.Redacted writes it.
const urlRedacted = "xxxxx"

// RedactURL returns raw as it may be shown in logs, metric labels, errors
// and status pages: the password of its user information and the value of
// every query parameter replaced by xxxxx, as either may be a credential
// (REMOTE_WRITE_URL's ?token=, a webhook's ?key=). A URL that does not
// parse keeps only its scheme and its host.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		scheme, rest, _ := strings.Cut(raw, "://")
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			rest = rest[at+1:]
		}
		host, _, _ := strings.Cut(rest, "/")
		host, _, _ = strings.Cut(host, "?")
		return scheme + "://" + urlRedacted + "@" + host
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{urlRedacted}
		}
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// redactError redacts the URL inside err when it is the *url.Error an
// http.Client returns, which names the whole request URL.
func redactError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		cp := *ue
		cp.URL = RedactURL(ue.URL)
		return &cp
	}
	return err
}
