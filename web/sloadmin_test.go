package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"atroz/alert"
	"atroz/auth"
	"atroz/slo"
)

// sloFile is the SLO_FILE of the admin tests: one SLO, and the built-in ones.
var sloFile = &slo.File{Defaults: true, SLOs: []slo.SLO{{Name: "from-file", Service: "shop", Objective: 99, Window: slo.DefaultWindow, Indicator: slo.Availability}}}

// attachSLOs loads the SLO catalog of s's store and its rules into an
// alert manager, as serve does.
func attachSLOs(t *testing.T, s *Server) {
	t.Helper()
	cat, skipped, err := slo.OpenCatalog(s.db, sloFile, []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})
	if err != nil || len(skipped) > 0 {
		t.Fatalf("open catalog: %v %v", skipped, err)
	}
	groups, err := slo.RuleGroups(cat.File(), nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := alert.NewManager(s.db, s.Query(), groups, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.SetAlerts(m)
	s.SetSLOCatalog(cat)
}

// sloView is what GET /api/v1/slos and /api/v1/rules say of the SLOs.
type sloView struct {
	statuses    map[string]slo.Status
	definitions map[string]sloDefinition
	thresholds  []string
	groups      []string
}

func viewSLOs(t *testing.T, s *Server, tok string) sloView {
	t.Helper()
	var out struct {
		Data struct {
			SLOs        []slo.Status    `json:"slos"`
			Definitions []sloDefinition `json:"definitions"`
			Thresholds  []string        `json:"latency_thresholds"`
		} `json:"data"`
	}
	w := asLogin(s, tok, "GET", "/api/v1/slos", "")
	if err := json.Unmarshal(w.Body.Bytes(), &out); w.Code != http.StatusOK || err != nil {
		t.Fatalf("GET /api/v1/slos: %d %s", w.Code, w.Body)
	}
	v := sloView{statuses: map[string]slo.Status{}, definitions: map[string]sloDefinition{}, thresholds: out.Data.Thresholds}
	for _, st := range out.Data.SLOs {
		v.statuses[st.Name] = st
	}
	for _, d := range out.Data.Definitions {
		v.definitions[d.Name] = d
	}
	var rules struct {
		Data struct {
			Groups []struct{ Name string } `json:"groups"`
		} `json:"data"`
	}
	w = asLogin(s, tok, "GET", "/api/v1/rules", "")
	if err := json.Unmarshal(w.Body.Bytes(), &rules); w.Code != http.StatusOK || err != nil {
		t.Fatalf("GET /api/v1/rules: %d %s", w.Code, w.Body)
	}
	for _, g := range rules.Data.Groups {
		v.groups = append(v.groups, g.Name)
	}
	return v
}

// TestSLOAdminAPI: an admin creates, replaces and deletes an SLO; each
// change shows at once in GET /api/v1/slos and the rules; bad fields are
// refused 400 naming the field, names in use and the file's SLOs 409; a
// viewer is refused 403; the SLO outlives a restart on the same file.
func TestSLOAdminAPI(t *testing.T) {
	dir := t.TempDir()
	is := newIngestServerIn(t, dir, Config{Development: true})
	attachSLOs(t, is.s)
	admin := is.session
	viewer := login(t, is.s, "watcher", auth.RoleViewer)
	do := func(tok, method, path, body string, code int, says string) {
		t.Helper()
		w := asLogin(is.s, tok, method, path, body)
		if w.Code != code || !strings.Contains(w.Body.String(), says) {
			t.Fatalf("%s %s %s: %d %s, want %d saying %q", method, path, body, w.Code, w.Body, code, says)
		}
	}
	const pay = `{"name":"pay","service":"shop","routes":["/api/pay"],"objective":99.5,"window":"7d","indicator":"availability"}`
	before := viewSLOs(t, is.s, admin) // counted and cached
	if st := before.statuses["from-file"]; st.Origin != slo.OriginFile {
		t.Fatalf("the file's SLO: %+v", st)
	}
	if d := before.definitions["latency"]; d.Origin != slo.OriginDefault || !slices.Contains(before.thresholds, "500ms") {
		t.Fatalf("the built-in latency SLO %+v and thresholds %v", d, before.thresholds)
	}
	do(viewer, "POST", "/api/v1/admin/slos", pay, http.StatusForbidden, "admin")
	do(admin, "POST", "/api/v1/admin/slos", pay, http.StatusCreated, `"origin":"dashboard"`)
	v := viewSLOs(t, is.s, viewer)
	if st := v.statuses["pay"]; st.Origin != slo.OriginDashboard || st.Objective != 99.5 || st.Service != "shop" {
		t.Fatalf("GET /api/v1/slos right after the create: %+v", st)
	}
	if d := v.definitions["pay"]; d.Window.String() != "1w" || len(d.Routes) != 1 {
		t.Fatalf("definition %+v", d)
	}
	if !slices.Contains(v.groups, "slo:pay") || !slices.Contains(v.groups, "slo:from-file") {
		t.Fatalf("rule groups %v, want slo:pay beside slo:from-file", v.groups)
	}

	do(admin, "POST", "/api/v1/admin/slos", pay, http.StatusConflict, "is taken")
	do(admin, "POST", "/api/v1/admin/slos", strings.Replace(pay, `"pay"`, `"from-file"`, 1), http.StatusConflict, "comes from SLO_FILE")
	do(admin, "POST", "/api/v1/admin/slos", strings.Replace(pay, `"pay"`, `"latency"`, 1), http.StatusConflict, "built in")
	do(admin, "POST", "/api/v1/admin/slos", strings.Replace(pay, `99.5`, `100`, 1), http.StatusBadRequest, "objective: 100 is not a percentage")
	do(admin, "POST", "/api/v1/admin/slos", `{"name":"slow","service":"shop","objective":99,"indicator":"latency","threshold":"300ms"}`,
		http.StatusBadRequest, "threshold: 300ms is not a bound of the request-duration histogram")
	do(admin, "POST", "/api/v1/admin/slos", `{"name":"x","service":"shop","objective":99,"indicator":"availability","color":"red"}`, http.StatusBadRequest, `color: is unknown`)

	do(admin, "PUT", "/api/v1/admin/slos/pay", `{"service":"shop","objective":99,"indicator":"availability"}`, http.StatusOK, `"objective":99,`)
	if st := viewSLOs(t, is.s, admin).statuses["pay"]; st.Objective != 99 || st.Window != time.Duration(slo.DefaultWindow).Seconds() {
		t.Fatalf("GET /api/v1/slos right after the replace: %+v", st)
	}
	do(admin, "PUT", "/api/v1/admin/slos/pay", strings.Replace(pay, `"pay"`, `"other"`, 1), http.StatusBadRequest, "name: \\\"other\\\" differs")
	do(admin, "PUT", "/api/v1/admin/slos/nothing", strings.Replace(pay, `"pay"`, `"nothing"`, 1), http.StatusNotFound, "no such SLO")
	do(admin, "PUT", "/api/v1/admin/slos/from-file", strings.Replace(pay, `"pay"`, `"from-file"`, 1), http.StatusConflict, "comes from SLO_FILE")
	do(admin, "DELETE", "/api/v1/admin/slos/from-file", "", http.StatusConflict, "comes from SLO_FILE")
	do(admin, "DELETE", "/api/v1/admin/slos/nothing", "", http.StatusNotFound, "no such SLO")
	do(viewer, "DELETE", "/api/v1/admin/slos/pay", "", http.StatusForbidden, "admin")

	s := restart(t, is, dir)
	attachSLOs(t, s)
	admin = login(t, s, "root", auth.RoleAdmin)
	v = viewSLOs(t, s, admin)
	if st := v.statuses["pay"]; st.Origin != slo.OriginDashboard || st.Objective != 99 || !slices.Contains(v.groups, "slo:pay") {
		t.Fatalf("after a restart: %+v, groups %v", st, v.groups)
	}
	if w := asLogin(s, admin, "DELETE", "/api/v1/admin/slos/pay", ""); w.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	v = viewSLOs(t, s, admin)
	if _, ok := v.statuses["pay"]; ok || slices.Contains(v.groups, "slo:pay") {
		t.Fatalf("after the delete: statuses %v, groups %v", v.statuses, v.groups)
	}
}

// TestSLOAdminCrossSite: a change of SLOs from a foreign page is refused,
// as every admin change is.
func TestSLOAdminCrossSite(t *testing.T) {
	is := newIngestServerIn(t, t.TempDir(), Config{Development: true})
	attachSLOs(t, is.s)
	w := is.do("POST", "/api/v1/admin/slos", `{"name":"pay","service":"shop","objective":99,"indicator":"availability"}`,
		"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example", "Content-Type", "application/json")
	if w.Code != http.StatusForbidden {
		t.Fatalf("cross-site create: %d %s", w.Code, w.Body)
	}
}
