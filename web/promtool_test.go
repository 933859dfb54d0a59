package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"atroz/internal/extserver"
)

// TestPromtoolQueries runs promtool 3, built from the Prometheus module
// AtroZ uses, against a server with a read token in its
// --http.config.file, once as a bearer token and once as basic auth's
// password: query instant, range, series and labels must succeed and print
// exactly what the HTTP API answers; without the file, promtool is refused.
func TestPromtoolQueries(t *testing.T) {
	bin := extserver.Promtool(t)
	ls, c, now := seededAPI(t)
	token := ls.readToken(t, "promtool")
	at := fmt.Sprint(now.Unix())
	start, end := fmt.Sprint(now.Add(-20*time.Minute).Unix()), at
	api := func(path string, form url.Values) any {
		t.Helper()
		code, body := ls.api(t, c, "GET", path, form)
		if code != 200 {
			t.Fatalf("%s %v: %d %s", path, form, code, body.Error)
		}
		var data any
		if err := json.Unmarshal(body.Data, &data); err != nil {
			t.Fatal(err)
		}
		if m, ok := data.(map[string]any); ok { // query answers: promtool prints the result alone
			return m["result"]
		}
		return data
	}
	cases := []struct {
		args []string
		want any
	}{
		{[]string{"instant", "--time", at, ls.url, `demo_requests_total{route="/a"}`},
			api("/api/v1/query", url.Values{"query": {`demo_requests_total{route="/a"}`}, "time": {at}})},
		{[]string{"range", "--start", start, "--end", end, "--step", "1m", ls.url, `sum by (route) (rate(demo_requests_total[5m]))`},
			api("/api/v1/query_range", url.Values{"query": {`sum by (route) (rate(demo_requests_total[5m]))`}, "start": {start}, "end": {end}, "step": {"60"}})},
		{[]string{"series", "--match", `demo_requests_total`, ls.url},
			api("/api/v1/series", url.Values{"match[]": {`demo_requests_total`}})},
		{[]string{"series", "--match", `{route="/b"}`, "--start", start, "--end", end, ls.url},
			api("/api/v1/series", url.Values{"match[]": {`{route="/b"}`}, "start": {start}, "end": {end}})},
		{[]string{"labels", ls.url, "route"},
			api("/api/v1/label/route/values", nil)},
	}
	dir := t.TempDir()
	for _, auth := range []struct{ name, config string }{
		{"bearer", "authorization:\n  type: Bearer\n  credentials: " + token + "\n"},
		{"basic auth", "basic_auth:\n  username: promtool\n  password: " + token + "\n"},
	} {
		t.Run(auth.name, func(t *testing.T) {
			cfg := filepath.Join(dir, strings.ReplaceAll(auth.name, " ", "_")+".yml")
			if err := os.WriteFile(cfg, []byte(auth.config), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, tc := range cases {
				out, err := promtool(bin, append([]string{"query", "-o", "json", "--http.config.file=" + cfg}, tc.args...)...)
				if err != nil {
					t.Fatalf("promtool query %s: %v", strings.Join(tc.args, " "), err)
				}
				var got any
				if err := json.Unmarshal(out, &got); err != nil {
					t.Fatalf("promtool query %s: not JSON: %s", tc.args[0], out)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("promtool query %s:\n got %v\nwant %v (the HTTP API's answer)", strings.Join(tc.args, " "), got, tc.want)
				}
				if want := tc.want.([]any); len(want) == 0 {
					t.Errorf("promtool query %s: the API answered nothing, so the comparison proves nothing", tc.args[0])
				}
			}
			if out, err := promtool(bin, "check", "healthy", "--http.config.file="+cfg, "--url="+ls.url); err != nil {
				t.Errorf("promtool check healthy: %v %s", err, out)
			}
			if out, err := promtool(bin, "check", "ready", "--http.config.file="+cfg, "--url="+ls.url); err != nil {
				t.Errorf("promtool check ready: %v %s", err, out)
			}
		})
	}
	if out, err := promtool(bin, "query", "instant", ls.url, "demo_requests_total"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("promtool without credentials: %v %s, want a refusal naming 401", err, out)
	}
}

// promtool runs bin with args and returns its standard output; a failure
// carries its standard error.
func promtool(bin string, args ...string) ([]byte, error) {
	var out, errOut bytes.Buffer
	cmd := exec.Command(bin, args...) // #nosec G204 -- the test's own promtool and arguments
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("%w: %s", err, bytes.TrimSpace(errOut.Bytes()))
	}
	return out.Bytes(), nil
}
