// Package tmpfs mounts small tmpfs volumes for tests that fill a disk or
// need a read-only one (Linux, as root with CAP_SYS_ADMIN; elsewhere such
// tests are skipped).
package tmpfs
