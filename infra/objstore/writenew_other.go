//go:build !linux

package objstore

// writeNew is not done where there are no unnamed files: renameFile writes p.
func writeNew(string, []byte) (bool, error) { return false, nil }
