package objstore

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// writeNew writes b into an unnamed file of p's directory (O_TMPFILE) and links it in as p. It is
// not done (false) where the file system has no unnamed files or p exists (link never replaces):
// renameFile then writes it.
func writeNew(p string, b []byte) (bool, error) {
	fd, err := unix.Open(filepath.Dir(p), unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return false, nil
	}
	defer unix.Close(fd) //nolint:errcheck // nothing was written through it once linked
	for rest := b; len(rest) > 0; {
		n, err := unix.Write(fd, rest)
		if err == nil && n == 0 {
			err = io.ErrShortWrite
		}
		if err != nil {
			return true, fmt.Errorf("objstore: write %s: %w", p, err)
		}
		rest = rest[n:]
	}
	err = unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, p, unix.AT_SYMLINK_FOLLOW)
	switch {
	case errors.Is(err, unix.EEXIST):
		return false, nil
	case errors.Is(err, unix.ENOENT) && !procMounted():
		return false, nil // no /proc to name the file by
	case err != nil:
		return true, fmt.Errorf("objstore: write %s: %w", p, err)
	}
	return true, nil
}

func procMounted() bool {
	var st unix.Stat_t
	return unix.Stat("/proc/self/fd", &st) == nil
}
