package tmpfs

import (
	"errors"
	"strconv"
	"syscall"
	"testing"
)

// Mount mounts a tmpfs of size bytes on a new directory, unmounted when
// the test ends, and returns the directory. It skips the test where
// mounting is not permitted.
func Mount(t testing.TB, size int) string { return mount(t, size, 0) }

// MountReadOnly is Mount for a volume nothing can be written to.
func MountReadOnly(t testing.TB, size int) string { return mount(t, size, syscall.MS_RDONLY) }

func mount(t testing.TB, size int, flags uintptr) string {
	t.Helper()
	dir := t.TempDir()
	err := syscall.Mount("tmpfs", dir, "tmpfs", flags, "size="+strconv.Itoa(size))
	if errors.Is(err, syscall.EPERM) {
		t.Skipf("this test mounts a small tmpfs, which needs root (CAP_SYS_ADMIN): %v", err)
	}
	if err != nil {
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}
