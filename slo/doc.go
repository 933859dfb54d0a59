/*
Package slo turns service-level objectives into the rules that watch them.

An SLO names a service (and, optionally, some of its routes), an objective
over a window, such as 99.9 % over 30 days, and an indicator: availability
(the share of requests not answered 5xx), latency (the share answered
within a threshold that is a bound of the duration histogram), or frame
rate (the share of beacon seconds drawn faster than 50 fps). SLOs come from a
YAML file (Load, checked by atroz slo check), from built-in ones per
service (Defaults), which follow the built-in alerts' thresholds, and from
the dashboard: DecodeJSON checks one as the file's are, and a Catalog keeps
them in the data file beside the file's.

Rules renders each SLO as a Prometheus rule group, which the alert package
loads like any rule file, so the alerts are delivered like every other:

  - two recording rules from the raw counters every evaluation, the rates
    of bad and of all events over five minutes (slo:sli_errors:rate5m,
    slo:sli_events:rate5m);
  - the error ratio over each window the alerts read
    (slo:sli_error:ratio_rate5m ... _rate3d) and over the SLO's window.
    The 5m and 30m ratios are computed from the raw counters; longer ones
    from the recorded rates, sum_over_time of bad over sum_over_time of
    all, so a 30-day window reads two recorded series per SLO and service,
    a point per evaluation, rather than every raw sample of every route and
    code, and it weighs each five minutes by its traffic, which an
    average of ratios would not;
  - the multiwindow, multi-burn-rate alerts of the Google SRE workbook:
    SLOErrorBudgetBurnPage fires when the budget burns 14.4 times too fast
    over 1 h and over 5 m, or 6 times over 6 h and over 30 m;
    SLOErrorBudgetBurnTicket 3 times over 1 d and 2 h, or once over 3 d and
    6 h. Those factors spend 2 %, 5 %, 10 % and 10 % of a 30-day budget in
    the long window; for another window the factors scale so the same
    shares of its budget are spent (a 7-day SLO pages at 3.36).
*/
package slo
