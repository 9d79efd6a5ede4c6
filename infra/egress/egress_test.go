package egress

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

// TestCheckRefusesSpecialPurposeAddresses: loopback, cloud metadata, private ranges and IPv6 forms
// that embed them are refused by default; a public address passes; an allowed range passes.
func TestCheckRefusesSpecialPurposeAddresses(t *testing.T) {
	for _, s := range []string{"127.0.0.1", "127.5.6.7", "::1", "169.254.169.254", "fd00:ec2::254", "10.1.2.3", "172.16.0.1",
		"192.168.1.1", "100.64.0.1", "0.0.0.0", "::", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe",
		"2002:7f00:1::1", "::7f00:1", "fe80::1", "224.0.0.1", "255.255.255.255", "192.0.0.170"} {
		if err := (Policy{}).Check(netip.MustParseAddr(s)); !errors.Is(err, ErrForbidden) {
			t.Errorf("%s: %v, want ErrForbidden", s, err)
		}
	}
	for _, s := range []string{"93.184.216.34", "2606:4700:4700::1111", "8.8.8.8"} {
		if err := (Policy{}).Check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	allow, err := ParseAllow(" 127.0.0.1, 10.0.0.0/8 ,::1")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"127.0.0.1", "10.9.9.9", "::1", "::ffff:127.0.0.1"} {
		if err := (Policy{Allow: allow}).Check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("allowed %s: %v", s, err)
		}
	}
	if err := (Policy{Allow: allow}).Check(netip.MustParseAddr("127.0.0.2")); !errors.Is(err, ErrForbidden) {
		t.Errorf("127.0.0.2 is outside the allowed ranges: %v", err)
	}
	if _, err := ParseAllow("10.0.0.0/33"); err == nil {
		t.Error("a bad CIDR is refused")
	}
	if _, err := ParseAllow("example.com"); err == nil {
		t.Error("a name is refused")
	}
}

// TestClientChecksTheDialledAddressAndRedirects: the guard sits in the dialer, so a name resolving to
// loopback (localhost) is refused as its address is, and a redirect from an allowed server to a
// refused address is refused too.
func TestClientChecksTheDialledAddressAndRedirects(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	defer target.Close()
	_, port, _ := net.SplitHostPort(target.Listener.Addr().String())
	c := Policy{}.Client(2 * time.Second)
	for _, u := range []string{target.URL, "http://localhost:" + port} {
		if _, err := c.Get(u); !errors.Is(err, ErrForbidden) {
			t.Errorf("GET %s: %v, want ErrForbidden", u, err)
		}
	}
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.2:"+port+"/", http.StatusFound)
	}))
	defer redirector.Close()
	c = Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}.Client(2 * time.Second)
	if resp, err := c.Get(target.URL); err != nil || resp.StatusCode != 200 {
		t.Fatalf("an allowed address: %v %v", resp, err)
	}
	if _, err := c.Get(redirector.URL); !errors.Is(err, ErrForbidden) {
		t.Errorf("a redirect to a refused address: %v, want ErrForbidden", err)
	}
}
