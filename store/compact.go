package store

import (
	"errors"
	"fmt"
	"os"

	"atroz/migrations"

	bolt "go.etcd.io/bbolt"
)

// compactTxBytes bounds the data copied per transaction while compacting.
const compactTxBytes = 64 << 20

// Compact re-encodes every warm chunk and rollup block of the store file at
// path into blocks (EncodeBlocks with all), then rewrites the file with
// every page full, giving freed pages back to the file system; bbolt never
// shrinks a file by itself. The file must not be open elsewhere (it waits
// opts.LockTimeout for the lock, then fails). The encoding commits run by
// run and the rewrite goes to a copy next to the file, synced and renamed
// over it, so a crash at any point leaves one whole file with nothing lost.
// It returns the file's size before and after.
func Compact(path string, opts *Options) (before, after int64, err error) {
	o := opts.withDefaults()
	before = fileSize(path)
	if err := encodeFile(path, o); err != nil {
		return 0, 0, fmt.Errorf("compact %s: %w", path, err)
	}
	src, err := openBolt(path, o.LockTimeout)
	if err != nil {
		return 0, 0, err
	}
	defer func() { err = errors.Join(err, src.Close()) }()
	if v, err := migrations.Version(src); err != nil || v == 0 {
		return 0, 0, fmt.Errorf("compact %s: %w: %w", path, ErrNotStore, err)
	}
	tmp := path + ".compact"
	if err := compactInto(src, tmp, o); err != nil {
		_ = os.Remove(tmp)
		return 0, 0, fmt.Errorf("compact %s: %w", path, err)
	}
	after = fileSize(tmp)
	if err := os.Rename(tmp, path); err != nil {
		return 0, 0, fmt.Errorf("compact %s: %w", path, err)
	}
	return before, after, nil
}

// encodeFile opens the store, with no background work, encodes all of it
// into blocks and closes it. A file that is not a store is left alone for
// Compact to refuse.
func encodeFile(path string, o Options) error {
	src, err := openBolt(path, o.LockTimeout)
	if err != nil {
		return err
	}
	v, verr := migrations.Version(src)
	if err := src.Close(); err != nil || verr != nil || v == 0 {
		return err
	}
	o.FlushInterval, o.PruneInterval, o.EncodeInterval = -1, -1, -1
	db, err := Open(path, &o)
	if err != nil {
		return err
	}
	// A payload that does not decode is left as it is, for Check to
	// report: the rewrite copies it as any other.
	if _, err = db.EncodeBlocks(true); errors.Is(err, ErrCorrupt) {
		err = nil
	}
	return errors.Join(err, db.Close())
}

func compactInto(src *bolt.DB, tmp string, o Options) error {
	_ = os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, boltOptions(o.LockTimeout))
	if err != nil {
		return err
	}
	if err := bolt.Compact(dst, src, compactTxBytes); err != nil {
		_ = dst.Close()
		return err
	}
	if err := dst.Sync(); err != nil {
		_ = dst.Close()
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}
	return trimFile(tmp)
}

// trimFile cuts the file to the pages bbolt uses: bbolt grows a file in steps
// of up to 16 MiB ahead of need, and a compacted file will not need them.
// It syncs before returning, as the rename that follows relies on it.
func trimFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0) // #nosec G304 -- a file this function's caller just wrote
	if err != nil {
		return err
	}
	defer f.Close()
	m, err := readMeta(f)
	if err != nil {
		return err
	}
	if err := f.Truncate(m.size()); err != nil {
		return err
	}
	return f.Sync()
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
