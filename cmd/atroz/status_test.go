package main

import (
	"flag"
	"slices"
	"testing"
)

// TestStatusSettings: every setting is listed under its flag name with the
// value the flags hold, and exactly the credentials are secret.
func TestStatusSettings(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg, err := newConfig(fs, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"-jwt-secret-key", "k", "-scrape-interval", "7s", "-max-series", "12", "-gdpr-enabled=false"}); err != nil {
		t.Fatal(err)
	}
	got := cfg.StatusSettings()
	var secret []string
	values := map[string]string{}
	for _, s := range got {
		values[s.Name] = s.Value
		if s.Secret {
			secret = append(secret, s.Name)
		}
		if fs.Lookup(s.Name) == nil {
			t.Errorf("%s is no flag", s.Name)
		} else if f := fs.Lookup(s.Name); f.Value.String() != s.Value {
			t.Errorf("%s: %q, the flag holds %q", s.Name, s.Value, f.Value.String())
		}
	}
	if len(got) != len(cfg.settings()) {
		t.Errorf("%d settings listed of %d", len(got), len(cfg.settings()))
	}
	slices.Sort(secret)
	want := []string{"alert-pagerduty-routing-key", "alert-slack-webhook-url", "alert-smtp-password", "alert-teams-webhook-url", "alert-webhook-secret", "alert-webhook-url", "jwt-secret-key", "query-backend-bearer-token", "query-backend-headers", "remote-write-bearer-token"}
	if !slices.Equal(secret, want) {
		t.Errorf("secret settings %v, want %v", secret, want)
	}
	for name, want := range map[string]string{"jwt-secret-key": "k", "scrape-interval": "7s", "max-series": "12", "gdpr-enabled": "false"} {
		if values[name] != want {
			t.Errorf("%s: %q, want %q", name, values[name], want)
		}
	}
}
