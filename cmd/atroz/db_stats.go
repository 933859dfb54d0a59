package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	berrors "go.etcd.io/bbolt/errors"

	"atroz/store"
)

// statsLockProbe is how long db stats waits for the store's lock before
// taking it that a server holds the file and asking that server instead.
const statsLockProbe = 250 * time.Millisecond

// statsPath is the server's route answering what db stats prints.
const statsPath = "/api/v1/admin/store/stats"

// DBStatsCommand prints what the store file holds, tier by tier.
type DBStatsCommand struct {
	Env
}

// serverStats is the answer of the server's store statistics route.
type serverStats struct {
	Path string `json:"path"`
	store.DiskStats
}

// Run prints the store's series, samples and bytes per tier on Stdout. When
// a running server holds the file, it asks that server, with an admin
// token ($ATROZ_TOKEN) or login ($ATROZ_USER, $ATROZ_PASSWORD), and says so
// on Stderr.
func (c *DBStatsCommand) Run(ctx context.Context, args []string) (err error) {
	fs := c.flagSet("db stats", c.Usage)
	server := fs.String("server", "", "`URL` of the running server to ask when it holds the file ($ATROZ_URL; default http:// and LISTEN_ADDR)")
	cfg, err := c.parseConfig(fs, args)
	if err != nil {
		return err
	}
	if err := c.wantArgs(fs, 0); err != nil {
		return err
	}
	if err := requireStore(cfg); err != nil {
		return err
	}
	o := cfg.StoreOptions()
	o.LockTimeout = min(o.LockTimeout, statsLockProbe)
	db, err := store.Open(cfg.StorePath(), o)
	if errors.Is(err, berrors.ErrTimeout) {
		return c.askServer(ctx, cfg, *server)
	}
	if err != nil {
		return storeError(cfg, "open store", err)
	}
	defer func() { err = errors.Join(err, closeStore(db)) }()
	ds, err := db.DiskStats()
	if err != nil {
		return fmt.Errorf("disk stats: %w", err)
	}
	return printDiskStats(c.Stdout, cfg.StorePath(), ds)
}

// askServer prints the statistics the running server answers for its store.
func (c *DBStatsCommand) askServer(ctx context.Context, cfg *Config, server string) error {
	base, err := c.serverURL(cfg, server)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.Stderr, "%s is in use by a running server: asking it at %s\n", cfg.StorePath(), base)
	st, err := c.fetchStats(ctx, base)
	if err != nil {
		return fmt.Errorf("data directory %s is in use by another atroz process, and asking it failed: %w", cfg.DataDir, err)
	}
	return printDiskStats(c.Stdout, st.Path, st.DiskStats)
}

// serverURL returns -server, else $ATROZ_URL, else LISTEN_ADDR as a URL
// on loopback when it names every interface.
func (c *DBStatsCommand) serverURL(cfg *Config, server string) (string, error) {
	if server == "" {
		server, _ = c.LookupEnv("ATROZ_URL")
	}
	if server == "" {
		host, port, _ := net.SplitHostPort(cfg.ListenAddr) // Validate has checked it
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			host = "127.0.0.1"
		}
		scheme := "http"
		if cfg.Security.TLSCertFile != "" {
			scheme = "https"
		}
		server = scheme + "://" + net.JoinHostPort(host, port)
	}
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("-server: %q is not an http(s) URL with a host", server)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// fetchStats asks the server at base for its store's statistics.
func (c *DBStatsCommand) fetchStats(ctx context.Context, base string) (*serverStats, error) {
	var token, user, password string
	c.credentialsFromEnv(&token, &user, &password)
	client := &http.Client{Timeout: time.Minute}
	if token == "" && user != "" {
		l := &apiLogin{client: client, url: base + "/api/v1/auth/login", user: user, password: password}
		var err error
		if token, err = l.token(ctx); err != nil {
			return nil, err
		}
	}
	if token == "" {
		return nil, errors.New("set $ATROZ_TOKEN to an admin token, or $ATROZ_USER and $ATROZ_PASSWORD to an admin's login")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+statsPath, nil) // #nosec G704 -- the URL is the operator's own setting
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req) // #nosec G704 -- the URL is the operator's own setting
	if err != nil {
		return nil, err
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", statsPath, serverError(resp))
	}
	var out struct {
		Data serverStats `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("GET %s: %w", statsPath, err)
	}
	return &out.Data, nil
}

// printDiskStats writes ds as a summary followed by an aligned table of tiers.
func printDiskStats(w io.Writer, path string, ds store.DiskStats) error {
	fmt.Fprintf(w, "file    %s\nsize    %s (%d bytes, %.2f per raw sample)\nseries  %d\nwal     %d records, %d bytes\n\n",
		path, formatBytes(ds.FileBytes), ds.FileBytes, ds.FileBytesPerSample(), ds.Series, ds.WALRecords, ds.WALBytes)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tier\tencoding\tblocks\tsamples\tbytes\tbytes/sample\t")
	for _, t := range ds.Tiers {
		for _, e := range []struct {
			name string
			s    store.EncodingStats
		}{{"all", t.EncodingStats}, {"xor", t.Warm}, {"block", t.Cold}} {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.2f\t\n", t.Name, e.name, e.s.Blocks, e.s.Samples, e.s.Bytes, e.s.BytesPerSample())
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write stats: %w", err)
	}
	return nil
}

// Usage prints the command's help on Stderr, or on Stdout when asked for.
func (c *DBStatsCommand) Usage() {
	fmt.Fprint(c.Stderr, `Print the store's size, series, and the blocks, samples and bytes of each tier
(raw, 1m and 1h rollups). While a server runs on the store, it asks that
server (GET `+statsPath+`) with an admin token in $ATROZ_TOKEN, or an
admin's login in $ATROZ_USER and $ATROZ_PASSWORD, and says so on stderr.

Usage:

	atroz db stats [-server URL] [flags]

Flags:
  -server URL
    	the running server to ask when it holds the file ($ATROZ_URL;
    	default http:// and LISTEN_ADDR, on 127.0.0.1 when it names every interface)
`)
	printSettings(c.Stderr, append(storeSettings, "listen-addr")...)
}
