package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"google.golang.org/protobuf/proto"
)

// federateLookback is how far back federation looks for a series' latest
// sample: Prometheus' lookback delta, the engine's default.
const federateLookback = 5 * time.Minute

// federated is one series' latest sample.
type federated struct {
	lset labels.Labels
	t    int64
	v    float64
}

// federate answers Prometheus' /federate: the latest raw sample of each
// series a match[] selector selects within the lookback, with its
// timestamp, in the exposition format the scraper accepts (protobuf or
// text, negotiated as Prometheus' own federation handler does). A series
// whose latest sample is a staleness marker has ended and is left out.
// Every series gets an empty instance label unless it has one, as
// Prometheus adds it, so a scraper's honor_labels keeps it unset rather
// than naming the federation target.
func (s *Server) federate(c *gin.Context) {
	sets, err := matchParams(c, true)
	if err != nil {
		badRequest(c, err)
		return
	}
	now := s.col.Now()
	vec, err := s.latest(c, sets, now.Add(-federateLookback).UnixMilli(), now.UnixMilli())
	if err != nil {
		abortWithError(c, http.StatusInternalServerError, ErrorInternal, fmt.Errorf("federate: %w", err))
		return
	}
	format := expfmt.NegotiateAccept(c.Request.Header, expfmt.NewFormat(expfmt.TypeProtoDelim), expfmt.NewFormat(expfmt.TypeProtoText), expfmt.NewFormat(expfmt.TypeProtoCompact), expfmt.NewFormat(expfmt.TypeTextPlain))
	c.Header("Content-Type", string(format))
	c.Status(http.StatusOK)
	if err := encodeFederated(expfmt.NewEncoder(c.Writer, format), vec); err != nil {
		s.log.Warn("federate: write", "event_type", "api", "error", err)
	}
}

// latest returns the latest sample in [mint, maxt] of each series the
// matcher sets select, staleness markers left out, sorted by metric name.
func (s *Server) latest(c *gin.Context, sets [][]*labels.Matcher, mint, maxt int64) ([]federated, error) {
	q, err := s.query.Queryable().Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	defer func() { _ = q.Close() }()
	hints := &storage.SelectHints{Start: mint, End: maxt}
	all := make([]storage.SeriesSet, 0, len(sets))
	for _, ms := range sets {
		all = append(all, q.Select(c.Request.Context(), true, hints, ms...))
	}
	set := storage.NewMergeSeriesSet(all, 0, storage.ChainedSeriesMerge)
	var (
		vec []federated
		it  chunkenc.Iterator
	)
	for set.Next() {
		sr := set.At()
		it = sr.Iterator(it)
		f, ok := lastFloat(it)
		if ok && !value.IsStaleNaN(f.v) {
			f.lset = sr.Labels()
			vec = append(vec, f)
		}
	}
	if err := set.Err(); err != nil {
		return nil, err
	}
	slices.SortStableFunc(vec, func(a, b federated) int {
		return strings.Compare(a.lset.Get(model.MetricNameLabel), b.lset.Get(model.MetricNameLabel))
	})
	return vec, nil
}

// lastFloat returns the last float sample of it, which a querier bounded
// to the lookback has already limited in time.
func lastFloat(it chunkenc.Iterator) (federated, bool) {
	var (
		f  federated
		ok bool
	)
	for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
		if vt == chunkenc.ValFloat {
			f.t, f.v = it.At()
			ok = true
		}
	}
	return f, ok && it.Err() == nil
}

// encodeFederated writes vec, sorted by metric name, as one untyped family
// per name, as Prometheus' federation does.
func encodeFederated(enc expfmt.Encoder, vec []federated) error {
	var fam *dto.MetricFamily
	for _, f := range vec {
		name := f.lset.Get(model.MetricNameLabel)
		if name == "" {
			continue
		}
		if fam == nil || fam.GetName() != name {
			if fam != nil {
				if err := enc.Encode(fam); err != nil {
					return err
				}
			}
			fam = &dto.MetricFamily{Name: proto.String(name), Type: dto.MetricType_UNTYPED.Enum()}
		}
		fam.Metric = append(fam.Metric, federatedMetric(f))
	}
	if fam == nil {
		return nil
	}
	return enc.Encode(fam)
}

// federatedMetric is one sample as a metric of its family: its labels but
// the name, an empty instance unless it has one, its value and time.
func federatedMetric(f federated) *dto.Metric {
	m := &dto.Metric{Untyped: &dto.Untyped{Value: proto.Float64(f.v)}, TimestampMs: proto.Int64(f.t)}
	hasInstance := false
	f.lset.Range(func(l labels.Label) {
		if l.Name == model.MetricNameLabel || l.Value == "" {
			return
		}
		hasInstance = hasInstance || l.Name == model.InstanceLabel
		m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(l.Name), Value: proto.String(l.Value)})
	})
	if !hasInstance {
		m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(model.InstanceLabel), Value: proto.String("")})
	}
	return m
}
