package slo

import (
	"time"

	"github.com/prometheus/common/model"
)

// OwnServices matches the service labels of AtroZ itself, which the
// built-in SLOs leave out as the built-in product alerts do.
const OwnServices = "atroz|atroz-dashboard"

// Defaults returns the built-in SLOs, one of each per service, over 30 days,
// at the built-in alerts' thresholds: 99 % of requests not answered 5xx
// (HighErrorRate's 1 %), 95 % of requests within 500 ms (HighLatency's
// p95), half of beacon seconds at 50 fps or more (LowFrameRate's median).
func Defaults() []SLO {
	return []SLO{
		{Name: "availability", Objective: 99, Window: DefaultWindow, Indicator: Availability, perService: true},
		{Name: "latency", Objective: 95, Window: DefaultWindow, Indicator: Latency, Threshold: model.Duration(500 * time.Millisecond), perService: true},
		{Name: "frame-rate", Objective: 50, Window: DefaultWindow, Indicator: FrameRate, perService: true},
	}
}
