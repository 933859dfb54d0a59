package slo

import (
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"atroz/alert"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"go.yaml.in/yaml/v3"
)

// Names of the recorded series and the alerts.
const (
	ErrorsRate = "slo:sli_errors:rate5m" // bad events a second over 5 minutes
	EventsRate = "slo:sli_events:rate5m" // all events a second over 5 minutes
	// RatioPrefix begins the error ratio's name over a window: RatioPrefix+"1h".
	RatioPrefix = "slo:sli_error:ratio_rate"
	PageAlert   = "SLOErrorBudgetBurnPage"
	TicketAlert = "SLOErrorBudgetBurnTicket"
)

// burn is one condition of a multiwindow, multi-burn-rate alert: it fires
// when the budget burns at factor times the sustainable rate over both
// windows. share is the part of a window's budget that burn spends over
// long, from which the factor is found for any window.
type burn struct {
	long, short time.Duration
	share       float64
}

var (
	pageBurns   = []burn{{time.Hour, 5 * time.Minute, 0.02}, {6 * time.Hour, 30 * time.Minute, 0.05}}
	ticketBurns = []burn{{24 * time.Hour, 2 * time.Hour, 0.10}, {72 * time.Hour, 6 * time.Hour, 0.10}}
)

// factor is how many times faster than sustainable the budget burns when
// b.share of it goes in b.long: 14.4 for 2 % in 1 h of 30 days.
func (b burn) factor(window time.Duration) float64 {
	return round(b.share * float64(window) / float64(b.long))
}

// BurnAlert is one condition of an SLO's burn-rate alerts: it holds when
// the budget burns Factor times faster than the window allows over both
// the long and the short window.
type BurnAlert struct {
	Alert        string  `json:"alert"`   // PageAlert or TicketAlert
	Urgency      string  `json:"urgency"` // page or ticket
	LongSeconds  float64 `json:"long_seconds"`
	ShortSeconds float64 `json:"short_seconds"`
	Factor       float64 `json:"factor"`
	// Reachable is false when Factor times the error budget is 1 or more:
	// the condition would need more than every event to be bad, so it
	// can never hold.
	Reachable bool `json:"reachable"`
}

// BurnAlerts returns the conditions of s's burn-rate alerts, the page's
// first, with their factors for s's window.
func (s *SLO) BurnAlerts() []BurnAlert {
	var out []BurnAlert
	for _, a := range []struct {
		name, urgency string
		burns         []burn
	}{{PageAlert, "page", pageBurns}, {TicketAlert, "ticket", ticketBurns}} {
		for _, b := range a.burns {
			f := b.factor(time.Duration(s.Window))
			out = append(out, BurnAlert{Alert: a.name, Urgency: a.urgency, LongSeconds: b.long.Seconds(), ShortSeconds: b.short.Seconds(),
				Factor: f, Reachable: round(f*s.Budget()) < 1})
		}
	}
	return out
}

// rawWindows are the ratios computed from the raw counters; the longer
// ones are computed from the recorded 5-minute rates.
var rawWindows = []time.Duration{5 * time.Minute, 30 * time.Minute}

// Rules renders the SLOs of f, and the built-in ones unless f drops them,
// as a Prometheus rule file: a group per SLO, named slo:NAME.
func Rules(f *File) ([]byte, error) {
	list := f.SLOs
	if f.Defaults {
		list = append(Defaults(), list...)
	}
	var rf rulefmt.RuleGroups
	for i := range list {
		rf.Groups = append(rf.Groups, list[i].group())
	}
	b, err := yaml.Marshal(rf)
	if err != nil {
		return nil, fmt.Errorf("slo rules: %w", err)
	}
	return b, nil
}

// RuleSource is the File of the SLOs' rule groups: alert.Manager.SetGroups
// replaces the groups of this source when the SLOs change.
const RuleSource = "slo rules"

// RuleGroups returns the rule groups of the SLOs of f, as the alert
// manager evaluates them; their File is RuleSource.
func RuleGroups(f *File, log *slog.Logger) ([]alert.RuleGroup, error) {
	b, err := Rules(f)
	if err != nil {
		return nil, err
	}
	groups, err := alert.ParseRules(b, RuleSource, log)
	if err != nil {
		return nil, fmt.Errorf("slo rules: %w", err)
	}
	return groups, nil
}

// group returns the SLO's rules.
func (s *SLO) group() rulefmt.RuleGroup {
	g := rulefmt.RuleGroup{Name: "slo:" + s.Name}
	labels := map[string]string{"slo": s.Name}
	if !s.perService {
		labels["service"] = s.Service
	}
	bad, all := s.events()
	g.Rules = append(g.Rules,
		rulefmt.Rule{Record: ErrorsRate, Expr: bad(5 * time.Minute), Labels: labels},
		rulefmt.Rule{Record: EventsRate, Expr: all(5 * time.Minute), Labels: labels},
	)
	sel := fmt.Sprintf("{slo=%q}", s.Name)
	for _, w := range s.windows() {
		r := rulefmt.Rule{Record: RatioName(w), Labels: labels}
		switch {
		case w == 5*time.Minute:
			r.Expr = ErrorsRate + sel + " / " + EventsRate + sel
		case w < time.Hour:
			r.Expr = "(" + bad(w) + ") / (" + all(w) + ")"
		default:
			d := model.Duration(w).String()
			r.Expr = fmt.Sprintf("sum_over_time(%s%s[%s]) / sum_over_time(%s%s[%s])", ErrorsRate, sel, d, EventsRate, sel, d)
		}
		g.Rules = append(g.Rules, r)
	}
	g.Rules = append(g.Rules,
		s.alert(PageAlert, "critical", "page", pageBurns),
		s.alert(TicketAlert, "warning", "ticket", ticketBurns),
	)
	return g
}

// windows returns the windows whose error ratio is recorded: the alerts'
// and the SLO's own, shortest first.
func (s *SLO) windows() []time.Duration {
	ws := append([]time.Duration(nil), rawWindows...)
	seen := map[time.Duration]bool{}
	for _, b := range append(append([]burn(nil), pageBurns...), ticketBurns...) {
		for _, w := range []time.Duration{b.short, b.long} {
			if !seen[w] && w >= time.Hour {
				seen[w] = true
				ws = append(ws, w)
			}
		}
	}
	if w := time.Duration(s.Window); !seen[w] {
		ws = append(ws, w)
	}
	slices.Sort(ws)
	return ws
}

// RatioName is the recorded error ratio's name over window w.
func RatioName(w time.Duration) string { return RatioPrefix + model.Duration(w).String() }

// alert returns a multiwindow, multi-burn-rate alert over the burns.
func (s *SLO) alert(name, severity, urgency string, burns []burn) rulefmt.Rule {
	sel := fmt.Sprintf("{slo=%q}", s.Name)
	budget := s.Budget()
	var conds, factors []string
	for _, b := range burns {
		f := b.factor(time.Duration(s.Window))
		t := formatFloat(round(f * budget))
		conds = append(conds, fmt.Sprintf("(%s%s > %s and %s%s > %s)", RatioName(b.long), sel, t, RatioName(b.short), sel, t))
		factors = append(factors, fmt.Sprintf("%s× the sustainable rate over %s and %s", formatFloat(f), model.Duration(b.long), model.Duration(b.short)))
	}
	return rulefmt.Rule{
		Alert:  name,
		Expr:   strings.Join(conds, "\nor\n"),
		Labels: map[string]string{"severity": severity, "urgency": urgency},
		Annotations: map[string]string{
			"summary": fmt.Sprintf("{{ $labels.service }} spends the error budget of SLO %s (%s%% over %s) too fast: over %s",
				s.Name, formatFloat(s.Objective), s.Window, strings.Join(factors, ", or over ")),
			"description": "error ratio {{ $value | humanizePercentage }} over the long window, against a budget of " + formatFloat(budget*100) + "%",
		},
	}
}

// events returns the PromQL of the rate of bad and of all events over a window.
func (s *SLO) events() (bad, all func(time.Duration) string) {
	m := s.matchers()
	sum := "sum"
	if s.perService {
		sum = "sum by (service)"
	}
	rate := func(metric, extra string) func(time.Duration) string {
		return func(w time.Duration) string {
			return fmt.Sprintf("%s (rate(%s{%s%s}[%s]))", sum, metric, m, extra, model.Duration(w))
		}
	}
	switch s.Indicator {
	case Availability:
		return rate("http_requests_total", `, code=~"5.."`), rate("http_requests_total", "")
	case Latency:
		all = rate("http_request_duration_seconds_count", "")
		good := rate("http_request_duration_seconds_bucket", fmt.Sprintf(", le=%q", formatFloat(time.Duration(s.Threshold).Seconds())))
		return func(w time.Duration) string { return all(w) + " - " + good(w) }, all
	default: // FrameRate
		return rate("frontend_fps_bucket", fmt.Sprintf(", le=%q", formatFloat(minFPS))), rate("frontend_fps_count", "")
	}
}

// matchers selects the SLO's series.
func (s *SLO) matchers() string {
	if s.perService {
		return fmt.Sprintf("service!~%q", OwnServices)
	}
	m := "service=" + strconv.Quote(s.Service)
	if len(s.Routes) > 0 {
		m += ", route=~" + strconv.Quote(routesRegexp(s.Routes))
	}
	return m
}

// routesRegexp matches exactly the routes given.
func routesRegexp(routes []string) string {
	quoted := make([]string, len(routes))
	for i, r := range routes {
		quoted[i] = regexp.QuoteMeta(r)
	}
	return strings.Join(quoted, "|")
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// round drops the binary noise of a product of decimals: 14.4 * 0.001 is
// 0.014400000000000001.
func round(f float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'g', 10, 64), 64)
	return r
}
