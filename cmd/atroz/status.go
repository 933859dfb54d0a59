package main

import (
	"fmt"
	"strings"

	"atroz/web"
)

// secretSuffixes end the names of settings whose value is a credential.
var secretSuffixes = []string{"-secret", "-secret-key", "-password", "-bearer-token", "-routing-key"}

// credentialURLs are settings whose URL is itself the credential, as a
// Slack or Teams incoming webhook is, and as Alertmanager treats every
// webhook URL: many receivers take their key in the path.
var credentialURLs = map[string]bool{"alert-slack-webhook-url": true, "alert-teams-webhook-url": true, "alert-webhook-url": true}

// credentialHeaders are settings of extra request headers, which may carry
// an API key as well as a tenant's name.
var credentialHeaders = map[string]bool{"query-backend-headers": true}

// StatusSettings lists every setting with its effective value, for
// /api/v1/status/config and /api/v1/status/flags, marking the secrets the
// server must not show.
func (c *Config) StatusSettings() []web.Setting {
	list := c.settings()
	out := make([]web.Setting, 0, len(list))
	for _, s := range list {
		out = append(out, web.Setting{Name: s.flag, Value: settingValue(s.ptr), Secret: isSecret(s.flag)})
	}
	return out
}

// isSecret reports whether the setting of flag name holds a credential.
func isSecret(name string) bool {
	if credentialURLs[name] || credentialHeaders[name] {
		return true
	}
	for _, suffix := range secretSuffixes {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return false
}

// settingValue is a setting's value as its flag would take it.
func settingValue(ptr any) string {
	switch p := ptr.(type) {
	case *string:
		return *p
	case *int:
		return fmt.Sprint(*p)
	case *bool:
		return fmt.Sprint(*p)
	case interface{ String() string }: // *time.Duration
		return p.String()
	}
	return fmt.Sprint(ptr)
}
