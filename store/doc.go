/*
Package store is AtroZ's embedded time-series engine: one bbolt file, with
in-memory heads, Gorilla-compressed chunks, 1-minute and 1-hour rollups and
retention per tier. It is usable as a library on its own.

A sample is (labels, t, v): labels sorted name/value pairs with __name__
for the metric name, t unix milliseconds, v a float64.

Writing. Append adds a sample to its series' open chunk in memory; it takes
no global lock and never touches the disk. Flush, run every
Options.FlushInterval by a background goroutine and once more by Close,
commits everything appended since the last flush in one bbolt transaction:
the new samples of open chunks as one write-ahead-log record, and chunks that
closed (at 480 samples, 4 KiB, or two hours) written whole, with their
rollups. Log records that every open chunk has moved past are deleted in the
same transaction, and Open replays the rest, so a crash loses at most what was
appended since the last Flush that returned. While the log is larger than
Options.CheckpointBytes, each flush also checkpoints a part of the series:
it writes their open chunks, and the log keeps only the records the others
need. Close checkpoints every part and leaves no log.

A full volume. When a flush fails because the data volume is full (ENOSPC or
EDQUOT), bbolt rolls its transaction back and the DB enters the disk-full
state: Writable and every append return an error wrapping ErrDiskFull, so
memory stays bounded, while the samples accepted before stay in memory,
readable, and pending. The background flusher keeps trying; the first flush
that commits writes them all and ends the state. Stats tells when it began
and how long the last one lasted.

Reading. Select returns the series whose labels match Prometheus matchers in
a time range, merging flushed chunks with the heads. Query.Resolution picks
the tier: raw samples, or rollup points holding min, max, sum, count, last
and a reset-adjusted counter per interval, so a 30-day chart reads hundreds of
points, not millions. A Reader serves raw samples to the PromQL engine: its
Select returns series whose iterators decode their chunks in place as they
are iterated.

Keeping. Prune, run every Options.PruneInterval, deletes blocks older than
their tier's retention in bounded transactions. Compact rewrites a closed file
to give freed pages back to the file system.

The on-disk format is drawn in docs/format.md.
*/
package store
