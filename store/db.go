package store

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"atroz/migrations"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// DB is an open store: in-memory heads over one bbolt file. All methods are
// safe for concurrent use.
type DB struct {
	opts Options
	path string
	bolt *bolt.DB
	idx  *index
	log  *slog.Logger

	// readBufs holds the buffers Readers copy chunks into, handed back by
	// Reader.Close, so a query allocates none once others have run.
	readBufs sync.Pool

	// appendMu lets AppendAll check a batch and append it with no other
	// append, and no removal of a series, in between: those hold it shared.
	appendMu sync.RWMutex

	flushMu sync.Mutex // one flush at a time; guards the fields below
	walSeq  uint64     // key of the next WAL record
	carry   []walRecord
	forward []SeriesSamples // samples for Options.OnFlush and the outbox once committed
	outbox  outbox
	// walDelta is how much the flush under way grows the WAL.
	walDelta int64
	batch    flushBatch
	// nextPart is the series ID where the next part checkpoint begins.
	nextPart uint64
	// lastRecord is the size of the last flush's WAL record.
	lastRecord int64

	// encodeAll asks the next EncodeBlocks to walk every series' blocks,
	// not only their newest: set at Open, for files written before blocks
	// or left by an encoding that stopped, and by imports, which may write
	// chunks before a series' newest block.
	encodeAll atomic.Bool

	stats     counters
	full      diskFull
	closed    atomic.Bool
	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Open opens the store file at path, creating it if it does not exist,
// upgrading an older schema, and replaying the write-ahead log into the heads.
// A nil opts means defaults. If another process holds the file, Open fails
// after opts.LockTimeout with an error wrapping bbolt's ErrTimeout.
func Open(path string, opts *Options) (*DB, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	bdb, err := openBolt(path, o.LockTimeout)
	if err != nil {
		return nil, err
	}
	db := &DB{opts: o, path: path, bolt: bdb, idx: newIndex(), log: slog.New(slog.DiscardHandler), done: make(chan struct{})}
	if err := db.load(); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.encodeAll.Store(true)
	db.start()
	return db, nil
}

// pageSize is the bbolt page size of a new file. Chunks of up to 4 KiB pack
// into 16 KiB pages with little left over, where 4 KiB pages left about 15%
// of each page empty (BenchmarkBytesPerSample). An existing file keeps the
// page size it was created with.
const pageSize = 16 << 10

// allocSize is how far bbolt grows the file when it runs out of pages, at
// least. bbolt's default, 16 MiB, left up to that much of every live file
// unused; at 4 MiB a store growing a megabyte a second grows its file, a
// truncate and an fsync, once every four seconds.
const allocSize = 4 << 20

// boltOptions are the options every bbolt file of the store is opened with.
func boltOptions(timeout time.Duration) *bolt.Options {
	return &bolt.Options{Timeout: timeout, FreelistType: bolt.FreelistMapType, PageSize: pageSize}
}

// openBolt opens the file and refuses one that is not a whole bbolt file.
func openBolt(path string, timeout time.Duration) (*bolt.DB, error) {
	if err := precheck(path); err != nil {
		return nil, err
	}
	bdb, err := bolt.Open(path, 0o600, boltOptions(timeout))
	if err == nil {
		bdb.AllocSize = allocSize
	}
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("open %s: file is locked by another process (waited %s): %w", path, timeout, err)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
		return nil, fmt.Errorf("open %s: %w: %w", path, ErrNotStore, err)
	case err != nil:
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return bdb, nil
}

// Path returns the file the DB was opened from.
func (db *DB) Path() string { return db.path }

// Options returns the options in force, defaults filled in.
func (db *DB) Options() Options { return db.opts }

// SetLogger sets where background errors (failed flushes and prunes) are logged.
func (db *DB) SetLogger(l *slog.Logger) {
	if l != nil {
		db.log = l
	}
}

// Append adds a sample to the series ls at t (unix milliseconds). It touches
// memory only; the sample is durable after the next Flush. Labels need not
// be sorted. A refused sample returns one of the package's errors; while
// the data volume is full every sample is refused with ErrDiskFull.
func (db *DB) Append(ls Labels, t int64, v float64) error {
	return db.append(ls, t, v)
}

// AppendStrict is Append that also refuses NaN and ±Inf with ErrNonFinite,
// for ingest paths where such values can only be mistakes. Prometheus'
// staleness marker (value.StaleNaN) is a NaN too: a source that writes
// markers appends with Append or AppendAll.
func (db *DB) AppendStrict(ls Labels, t int64, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		db.stats.refused(ErrNonFinite)
		return fmt.Errorf("%w: %s at %d", ErrNonFinite, ls, t)
	}
	return db.append(ls, t, v)
}

func (db *DB) append(ls Labels, t int64, v float64) error {
	if err := db.Writable(); err != nil {
		db.stats.refused(err)
		return err
	}
	_, err := db.insert(ls, t, v)
	return err
}

// insert is append without the disk-full check, for the samples of an
// input admitted whole before the volume filled.
func (db *DB) insert(ls Labels, t int64, v float64) (*memSeries, error) {
	db.appendMu.RLock()
	defer db.appendMu.RUnlock()
	if db.closed.Load() {
		return nil, ErrClosed
	}
	return db.insertLocked(ls, t, v, db.opts.Now().UnixMilli())
}

// insertLocked is insert for a caller holding appendMu.
func (db *DB) insertLocked(ls Labels, t int64, v float64, now int64) (*memSeries, error) {
	var s *memSeries
	err := errRemoved
	for errors.Is(err, errRemoved) {
		if s, err = db.series(ls, t, now); err == nil {
			err = s.appendLocked(t, v, now)
		}
	}
	if err != nil {
		db.stats.refused(err)
		return nil, err
	}
	db.stats.appended.Add(1)
	db.stats.headSamples.Add(1)
	return s, nil
}

// series checks t and returns the series of ls, creating it if it is new.
func (db *DB) series(ls Labels, t, now int64) (*memSeries, error) {
	if err := db.checkTime(t, now); err != nil {
		return nil, err
	}
	ls = ls.normalize()
	h := ls.hash()
	if s := db.idx.get(ls, h); s != nil {
		return s, nil
	}
	return db.idx.create(ls, h, db.opts.MaxSeries, func() error { return ls.validate(&db.opts) })
}

// checkTime refuses a timestamp outside [now - raw retention, now + MaxFutureSkew].
func (db *DB) checkTime(t, now int64) error {
	if t > now+db.opts.MaxFutureSkew.Milliseconds() {
		return fmt.Errorf("%w: %s is more than %s ahead of the clock", ErrTooFarInFuture, time.UnixMilli(t).UTC().Format(time.RFC3339Nano), db.opts.MaxFutureSkew)
	}
	if t < now-db.opts.RawRetention.Milliseconds() {
		return fmt.Errorf("%w: %s is older than the %s raw retention", ErrTooOld, time.UnixMilli(t).UTC().Format(time.RFC3339Nano), db.opts.RawRetention)
	}
	return nil
}

// Close stops the background work, flushes what was appended and closes the
// file. It is safe to call more than once; later calls return the first result.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		// Under appendMu, so appends under way finish before the last
		// flush and later ones see closed: none is acknowledged and lost.
		db.appendMu.Lock()
		db.closed.Store(true)
		db.appendMu.Unlock()
		close(db.done)
		db.wg.Wait()
		// A checkpoint, so the next Open has no WAL to replay; on a full
		// volume a plain flush, which needs less room.
		var err error
		if db.checkpointDue(true) {
			err = db.checkpointAll()
		} else {
			err = db.Flush()
		}
		if errors.Is(err, ErrDiskFull) {
			err = fmt.Errorf("close: the samples appended since the last flush that committed are lost: %w", err)
		}
		db.closeErr = errors.Join(err, db.bolt.Close())
	})
	return db.closeErr
}

// start runs the background flusher and pruner.
func (db *DB) start() {
	db.every(db.opts.FlushInterval, func() {
		// A full volume is logged once, when it fills and when it frees.
		if err := db.Flush(); err != nil && !errors.Is(err, ErrDiskFull) {
			db.log.Error("store flush failed", "event_type", "store", "error", err)
		}
	})
	db.every(db.opts.EncodeInterval, func() {
		if _, err := db.EncodeBlocks(false); err != nil {
			db.log.Error("store block encoding failed", "event_type", "store", "error", err)
		}
	})
	db.every(db.opts.PruneInterval, func() {
		if _, err := db.Prune(); err != nil {
			db.log.Error("store prune failed", "event_type", "store", "error", err)
		}
	})
}

func (db *DB) every(d time.Duration, fn func()) {
	if d <= 0 {
		return
	}
	db.wg.Add(1)
	go func() {
		defer db.wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-db.done:
				return
			case <-t.C:
				fn()
			}
		}
	}()
}

// update runs fn in a write transaction.
func (db *DB) update(fn func(tx *bolt.Tx) error) error { return db.bolt.Update(fn) }

// view runs fn in a read transaction.
func (db *DB) view(fn func(tx *bolt.Tx) error) error { return db.bolt.View(fn) }

var (
	bSeries     = migrations.BucketSeries
	bChunks     = migrations.BucketChunks
	bWAL        = migrations.BucketWAL
	bRollup1m   = migrations.BucketRollup1m
	bRollup1h   = migrations.BucketRollup1h
	bRollupHead = migrations.BucketRollupHead
	bHeads      = migrations.BucketHeads
	bTokens     = migrations.BucketTokens
	bUsers      = migrations.BucketUsers
	bAlerts     = migrations.BucketAlerts
	bSilences   = migrations.BucketSilences
	bAlertState = migrations.BucketAlertState
	bSLOs       = migrations.BucketSLOs
	bOutbox     = migrations.BucketOutbox
)
