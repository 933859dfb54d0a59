package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"go.yaml.in/yaml/v3"

	"atroz/remote"
	"atroz/store"
)

// Setting is one effective setting of the running server, as
// /api/v1/status/config and /api/v1/status/flags show it.
type Setting struct {
	// Name is the setting's flag name, such as listen-addr.
	Name string
	// Value is the setting's value as its flag takes it.
	Value string
	// Secret hides the value (keys, passwords, tokens, webhook URLs that
	// are credentials themselves).
	Secret bool
}

// secretShown stands for a secret's value, as Prometheus shows its own.
const secretShown = "<secret>"

// shown returns the value to show: <secret> for a secret that is set, and
// otherwise the value with the password of any URL in it masked, so a
// Redis or webhook URL carrying user:password@ does not leak it.
func (st Setting) shown() string {
	if st.Secret && st.Value != "" {
		return secretShown
	}
	if !strings.Contains(st.Value, "://") {
		return st.Value
	}
	parts := strings.Split(st.Value, ",")
	for i, p := range parts {
		if item := strings.TrimSpace(p); item != "" {
			parts[i] = strings.Replace(p, item, remote.RedactURL(item), 1)
		}
	}
	return strings.Join(parts, ",")
}

// statusConfig answers Prometheus' /api/v1/status/config: the effective
// settings as YAML, in the order the server lists them, secrets hidden.
func (s *Server) statusConfig(c *gin.Context) {
	doc := &yaml.Node{Kind: yaml.MappingNode}
	for _, st := range s.cfg.Settings {
		v := &yaml.Node{Kind: yaml.ScalarNode, Value: st.shown()}
		if v.Value == "" {
			v.Style = yaml.DoubleQuotedStyle // "" rather than null
		}
		doc.Content = append(doc.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: st.Name}, v)
	}
	out := []byte("{}\n")
	if len(doc.Content) > 0 {
		var err error
		if out, err = yaml.Marshal(doc); err != nil {
			abortWithError(c, http.StatusInternalServerError, ErrorInternal, fmt.Errorf("config as YAML: %w", err))
			return
		}
	}
	success(c, gin.H{"yaml": string(out)}, nil)
}

// statusFlags answers Prometheus' /api/v1/status/flags: each flag's
// effective value by name, secrets hidden.
func (s *Server) statusFlags(c *gin.Context) {
	out := make(map[string]string, len(s.cfg.Settings))
	for _, st := range s.cfg.Settings {
		out[st.Name] = st.shown()
	}
	success(c, out, nil)
}

// maxTSDBLimit bounds the rankings of /api/v1/status/tsdb, as Prometheus does.
const maxTSDBLimit = 10000

// tsdbStat is one ranking entry of /api/v1/status/tsdb.
type tsdbStat struct {
	Name  string `json:"name"`
	Value uint64 `json:"value"`
}

// tsdbStatus is Prometheus' /api/v1/status/tsdb answer.
type tsdbStatus struct {
	HeadStats                   headStats  `json:"headStats"`
	SeriesCountByMetricName     []tsdbStat `json:"seriesCountByMetricName"`
	LabelValueCountByLabelName  []tsdbStat `json:"labelValueCountByLabelName"`
	MemoryInBytesByLabelName    []tsdbStat `json:"memoryInBytesByLabelName"`
	SeriesCountByLabelValuePair []tsdbStat `json:"seriesCountByLabelValuePair"`
}

// headStats describes the samples in memory, Prometheus' head.
type headStats struct {
	NumSeries     uint64 `json:"numSeries"`
	NumLabelPairs int    `json:"numLabelPairs"`
	ChunkCount    int64  `json:"chunkCount"`
	MinTime       int64  `json:"minTime"`
	MaxTime       int64  `json:"maxTime"`
}

// statusTSDB answers Prometheus' /api/v1/status/tsdb from the store's
// index: the top limit (default 10) metric names, label names and pairs.
func (s *Server) statusTSDB(c *gin.Context) {
	limit, err := limitParam(c, 10)
	switch {
	case err != nil:
		badRequest(c, err)
		return
	case limit == 0:
		badRequest(c, errors.New("limit must be a positive number"))
		return
	case limit > maxTSDBLimit:
		badRequest(c, fmt.Errorf("limit must not exceed %d", maxTSDBLimit))
		return
	}
	cd := s.db.Cardinality(limit)
	success(c, tsdbStatus{
		HeadStats:                   headStats{cd.NumSeries, cd.NumLabelPairs, cd.ChunkCount, cd.MinTime, cd.MaxTime},
		SeriesCountByMetricName:     tsdbStats(cd.SeriesByMetric),
		LabelValueCountByLabelName:  tsdbStats(cd.ValuesByLabel),
		MemoryInBytesByLabelName:    tsdbStats(cd.BytesByLabel),
		SeriesCountByLabelValuePair: tsdbStats(cd.SeriesByPair),
	}, nil)
}

func tsdbStats(in []store.Stat) []tsdbStat {
	out := make([]tsdbStat, len(in))
	for i, st := range in {
		out[i] = tsdbStat{st.Name, st.Count}
	}
	return out
}

// limitParam reads the limit parameter: def when absent, 0 for no limit,
// an error naming it when it is not a whole number of zero or more.
func limitParam(c *gin.Context, def int) (int, error) {
	if err := c.Request.ParseForm(); err != nil {
		return 0, fmt.Errorf("parse form: %w", err)
	}
	v := c.Request.Form.Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid parameter \"limit\": cannot parse %q to a valid limit", v)
	}
	return n, nil
}
