package remote

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"atroz/store"
)

// Config is one remote-write destination.
type Config struct {
	// URL receives the writes, such as http://vm:8428/api/v1/write.
	URL string
	// BearerToken, or Username and Password, authenticate to it; at most one.
	BearerToken        string
	Username, Password string
	// QueueSamples bounds the samples waiting; beyond it new ones are dropped. Default 500,000.
	QueueSamples int
	// Shards send in parallel. Default 2.
	Shards int
	// BatchSamples is the most samples a request carries. Default 2,000.
	BatchSamples int
	// BatchDelay is the longest a sample waits for its batch to fill. Default 1s.
	BatchDelay time.Duration
	// Timeout bounds one request. Default 30s.
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between retries. Defaults 100ms and 10s.
	MinBackoff, MaxBackoff time.Duration
	// ExternalLabels are added to every series sent that has no label of
	// the same name (see EncodeWith).
	ExternalLabels store.Labels
}

func (c Config) withDefaults() Config {
	orDefault(&c.QueueSamples, 500_000)
	orDefault(&c.Shards, 2)
	orDefault(&c.BatchSamples, 2000)
	orDefault(&c.BatchDelay, time.Second)
	orDefault(&c.Timeout, 30*time.Second)
	orDefault(&c.MinBackoff, 100*time.Millisecond)
	orDefault(&c.MaxBackoff, 10*time.Second)
	return c
}

// orDefault sets *v to def unless it is positive.
func orDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Validate names the first field that is wrong.
func (c Config) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("REMOTE_WRITE_URL %q: want an http or https URL", RedactURL(c.URL))
	}
	if c.BearerToken != "" && (c.Username != "" || c.Password != "") {
		return errors.New("REMOTE_WRITE_URL " + RedactURL(c.URL) + ": a bearer token and basic auth are exclusive")
	}
	if c.Username == "" && c.Password != "" {
		return errors.New("REMOTE_WRITE_URL " + RedactURL(c.URL) + ": a password needs a username")
	}
	return nil
}
