package store

// Backfill folds samples older than the raw retention into the rollup
// tiers without raw chunks: a sample the 1-minute tier still keeps goes
// through addRaw, into a minute and on into its hour, as a raw sample
// would; an older one goes into its hour alone (addHour). Both move the
// reset-adjusted counter on, so rate over the backfilled points and the
// live ones after them is continuous. The past of a series that holds
// newer data is built in a state of its own and written out whole
// (drain), older than anything the series holds in any tier.

// addHour folds one sample into the hour tier alone: the 1-minute tier no
// longer keeps its time. An open minute is finished first, into both
// tiers, so the tiers never go back in time.
func (r *rollupState) addHour(s Sample, sink rollupSink) {
	r.m.finish(func(p Point) { r.h.add(p, nil, sink.hour) }, sink.minute)
	r.addRaw(s, sink) // with no minute open, this opens one holding s alone
	if r.m.open {
		r.m.open = false
		r.h.add(r.m.cur, nil, sink.hour)
	}
}

// finish ends the open interval: it joins the block, and final gets it.
func (a *tierAcc) finish(final func(Point), full func([]Point)) {
	if !a.open {
		return
	}
	a.open = false
	a.keep(a.cur)
	if final != nil {
		final(a.cur)
	}
	if len(a.block) == pointsPerBlock {
		full(a.block)
		a.block = nil
	}
}

// drain hands every finished point to sink as a block, however short; with
// end, the open intervals are finished first.
func (r *rollupState) drain(end bool, sink rollupSink) {
	if end {
		r.m.finish(func(p Point) { r.h.add(p, nil, sink.hour) }, sink.minute)
		r.h.finish(nil, sink.hour)
	}
	if len(r.m.block) > 0 {
		sink.minute(r.m.block)
		r.m.block = nil
	}
	if len(r.h.block) > 0 {
		sink.hour(r.h.block)
		r.h.block = nil
	}
}
