package urlsign_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/belfry/belfry/infra/urlsign"
)

func TestSignVerifyAndKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "export-url.key")
	s, err := urlsign.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 || st.Size() != urlsign.KeySize {
		t.Fatalf("key file: %v %v", st, err)
	}
	sig := s.Sign("export/a/b/123")
	again, _ := urlsign.Open(path)
	if !again.Verify("export/a/b/123", sig) {
		t.Fatal("a reopened key does not verify its own signature")
	}
	for _, bad := range []struct{ payload, sig string }{{"export/a/b/124", sig}, {"export/a/b/123", forge(sig)}, {"export/a/b/123", "%%"}, {"export/a/b/123", ""}} {
		if again.Verify(bad.payload, bad.sig) {
			t.Fatalf("verified %+v", bad)
		}
	}
	other, _ := urlsign.Open(filepath.Join(t.TempDir(), "k"))
	if other.Verify("export/a/b/123", sig) {
		t.Fatal("another key verifies the signature")
	}
}

// forge changes the first character of s, whose six bits all count (a last character's low bits may
// be padding that decoding ignores, and replacing it with a fixed one leaves it unchanged 1 time in 64).
func forge(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}
