package web

import (
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/common/model"
)

// selfScrapePool is the scrape pool and job of AtroZ's self-scrape.
const selfScrapePool = "atroz"

// target is one active target of /api/v1/targets, in Prometheus' shape.
type target struct {
	DiscoveredLabels   map[string]string `json:"discoveredLabels"`
	Labels             map[string]string `json:"labels"`
	ScrapePool         string            `json:"scrapePool"`
	ScrapeURL          string            `json:"scrapeUrl"`
	GlobalURL          string            `json:"globalUrl"`
	LastError          string            `json:"lastError"`
	LastScrape         time.Time         `json:"lastScrape"`
	LastScrapeDuration float64           `json:"lastScrapeDuration"`
	Health             string            `json:"health"`
	ScrapeInterval     string            `json:"scrapeInterval"`
	ScrapeTimeout      string            `json:"scrapeTimeout"`
}

// droppedTarget is a target relabelling dropped; AtroZ has none.
type droppedTarget struct {
	DiscoveredLabels map[string]string `json:"discoveredLabels"`
	ScrapePool       string            `json:"scrapePool"`
}

// targetDiscovery is the answer of /api/v1/targets.
type targetDiscovery struct {
	ActiveTargets       []target        `json:"activeTargets"`
	DroppedTargets      []droppedTarget `json:"droppedTargets"`
	DroppedTargetCounts map[string]int  `json:"droppedTargetCounts,omitempty"`
}

// targets answers Prometheus' /api/v1/targets with the one target AtroZ
// scrapes: itself, every scrape interval, in process. state (active,
// dropped or any, the default) and scrapePool filter as in Prometheus; a
// state it does not know shows neither kind, as Prometheus' does.
func (s *Server) targets(c *gin.Context) {
	state := strings.ToLower(c.Query("state"))
	pool := c.Query("scrapePool")
	res := targetDiscovery{ActiveTargets: []target{}, DroppedTargets: []droppedTarget{}}
	if (state == "" || state == "any" || state == "active") && (pool == "" || pool == selfScrapePool) {
		res.ActiveTargets = append(res.ActiveTargets, s.selfTarget(c))
	}
	if state == "" || state == "any" || state == "dropped" {
		res.DroppedTargetCounts = map[string]int{selfScrapePool: 0}
	}
	success(c, res, nil)
}

// selfTarget describes the self-scrape as Prometheus describes a target:
// its address is the one the request reached, since it scrapes what
// /metrics serves there.
func (s *Server) selfTarget(c *gin.Context) target {
	u, _ := url.Parse(s.self(c) + "/metrics") // the server's own origin always parses
	interval := model.Duration(s.col.ScrapeInterval()).String()
	t := target{
		DiscoveredLabels: map[string]string{model.AddressLabel: u.Host, model.MetricsPathLabel: u.Path, model.SchemeLabel: u.Scheme, model.JobLabel: selfScrapePool},
		Labels:           map[string]string{model.InstanceLabel: u.Host, model.JobLabel: selfScrapePool},
		ScrapePool:       selfScrapePool,
		ScrapeURL:        u.String(),
		GlobalURL:        u.String(),
		Health:           "unknown",
		ScrapeInterval:   interval,
		ScrapeTimeout:    interval,
	}
	if st, ok := s.col.LastScrape(); ok {
		t.LastScrape, t.LastScrapeDuration, t.Health = st.Time.UTC(), st.Duration.Seconds(), "up"
		if st.Err != nil {
			t.Health, t.LastError = "down", st.Err.Error()
		}
	}
	return t
}
