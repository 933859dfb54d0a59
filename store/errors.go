package store

import "errors"

// These errors are returned by Append, Flush, Open and the range reads. Check them with errors.Is.
var (
	// ErrOutOfOrder is returned when a sample is older than the last sample appended to its series.
	ErrOutOfOrder = errors.New("sample out of order")

	// ErrDuplicateSample is returned when a sample has the timestamp of the last sample of its series but another value.
	ErrDuplicateSample = errors.New("duplicate sample for timestamp")

	// ErrTooFarInFuture is returned when a sample's timestamp is further ahead of the clock than Options.MaxFutureSkew.
	ErrTooFarInFuture = errors.New("sample too far in the future")

	// ErrTooOld is returned when a sample is older than the raw tier's retention.
	ErrTooOld = errors.New("sample older than retention")

	// ErrNonFinite is returned by AppendStrict when a value is NaN (a staleness marker among them) or ±Inf.
	ErrNonFinite = errors.New("value is NaN or infinite")

	// ErrInvalidLabels is returned when labels are empty, lack __name__, repeat a name, or are not valid UTF-8.
	ErrInvalidLabels = errors.New("invalid labels")

	// ErrLabelTooLong is returned when a label name or value exceeds Options.MaxLabelNameLength or MaxLabelValueLength, or a series' labels together exceed MaxLabelBytes.
	ErrLabelTooLong = errors.New("label too long")

	// ErrTooManyLabels is returned when a series has more than Options.MaxLabels labels.
	ErrTooManyLabels = errors.New("too many labels")

	// ErrSeriesLimit is returned when appending would create a series beyond Options.MaxSeries,
	// or ReserveSeries would reserve past it; series and reserved series both count.
	ErrSeriesLimit = errors.New("series limit reached")

	// ErrDiskFull is returned by the appends, Flush and Writable from the time a flush
	// fails because the data volume is full (ENOSPC or EDQUOT) until a flush commits again.
	ErrDiskFull = errors.New("data volume full")

	// ErrClosed is returned when the DB is used after Close, and by a Reader's Select after the Reader's Close.
	ErrClosed = errors.New("store closed")

	// ErrReadLimit is returned by the Select of a Reader from LimitedReader when the samples its Selects take pass its budget.
	ErrReadLimit = errors.New("read limit reached")

	// ErrCorrupt is returned when on-disk data cannot be decoded.
	ErrCorrupt = errors.New("corrupt data")

	// ErrNotStore is returned by Open when the file is not a bbolt database, is truncated, or is not an AtroZ store.
	ErrNotStore = errors.New("not an AtroZ data file")
)
