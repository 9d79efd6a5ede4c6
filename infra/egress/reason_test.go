package egress

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/domain"
)

// TestReasonNamesNoResolvedAddress: the failures of a guarded call to a name the tenant typed —
// refused by the guard, or a connection refused — are told without the address the name resolved
// to (here localhost's 127.0.0.1), which Go's own error text spells out.
func TestReasonNamesNoResolvedAddress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	srv.Close() // nothing listens on the port any more
	url := "http://localhost:" + strconv.Itoa(port) + "/hook"
	_, err := Policy{}.Client(2 * time.Second).Get(url)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1") && !strings.Contains(err.Error(), "::1") {
		t.Fatalf("the guard's refusal as Go tells it: %v (the test expects the address in it)", err)
	}
	if r := domain.NetReason(err); r != ErrForbidden.Error() {
		t.Errorf("refused by the guard: %q", r)
	}
	allowed := Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	_, err = allowed.Client(2 * time.Second).Get(url)
	if r := domain.NetReason(err); err == nil || r != "the connection was refused" {
		t.Errorf("a closed port: %q (%v)", r, err)
	}
	for _, r := range []string{domain.NetReason(err), domain.NetReason(nil)} {
		if strings.Contains(r, "127.0.0.1") || strings.Contains(r, "::1") {
			t.Errorf("a reason names the address: %q", r)
		}
	}
}
