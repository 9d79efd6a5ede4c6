package devices

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/belfry/belfry/projections"
	"github.com/belfry/belfry/projections/wickrusers"
)

// walk reads every page of devs (re-read through list before each page, as a client's next call
// would see the store) and returns the app ids in the order served.
func walk(t *testing.T, p Page, list func(page int) []wickrusers.Device) []string {
	t.Helper()
	sort := fmt.Sprint(p.Sort)
	var got []string
	for page := 0; page < 50; page++ {
		k, err := projections.DecodeKeyset(p.NextToken, sort)
		if err != nil {
			t.Fatal(err)
		}
		out, next, err := pageOf(list(page), p, sort, k)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range out {
			got = append(got, d.AppID)
		}
		if next == "" {
			return got
		}
		p.NextToken = next
	}
	t.Fatal("the list never ended")
	return nil
}

func devs(ids ...string) []wickrusers.Device {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var out []wickrusers.Device
	for i, id := range ids {
		out = append(out, wickrusers.Device{AppID: id, Type: "MacOSX", Created: base.Add(time.Duration(i) * time.Minute), LastLogin: base.Add(time.Duration(i) * time.Hour)})
	}
	return out
}

// The device a token ends at is removed before the next page: the list goes on after it, it does not
// start over (which repeated every device of the first page).
func TestDevicePagesSurviveTheCursorDeviceGoing(t *testing.T) {
	all := devs("a", "b", "c", "d", "e")
	got := walk(t, Page{Sort: []string{"created"}, Limit: 2}, func(page int) []wickrusers.Device {
		if page == 0 {
			return slices.Clone(all)
		}
		return slices.DeleteFunc(slices.Clone(all), func(d wickrusers.Device) bool { return d.AppID == "b" })
	})
	if !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
		t.Fatalf("served %v, want each device once in order", got)
	}
}

// A device signing in between pages moves to the end of a lastlogin list; the devices it passes
// are neither skipped nor repeated (an id-only cursor looked the cursor up at its new place and
// skipped every device between).
func TestDevicePagesSurviveASignIn(t *testing.T) {
	all := devs("a", "b", "c", "d", "e")
	got := walk(t, Page{Sort: []string{"lastlogin"}, Limit: 2}, func(page int) []wickrusers.Device {
		cur := slices.Clone(all)
		if page > 0 {
			cur[1].LastLogin = cur[4].LastLogin.Add(time.Hour) // "b", the cursor, signs in again
		}
		return cur
	})
	if !slices.Equal(got, []string{"a", "b", "c", "d", "e", "b"}) && !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
		t.Fatalf("served %v", got)
	}
	for _, id := range []string{"c", "d", "e"} {
		if n := countOf(got, id); n != 1 {
			t.Fatalf("%s served %d times in %v", id, n, got)
		}
	}
}

func TestDevicePagesDescendingAndMultiField(t *testing.T) {
	all := devs("a", "b", "c", "d", "e")
	all[0].Type, all[3].Type = "iOS", "iOS"
	got := walk(t, Page{Sort: []string{"type", "created"}, Desc: true, Limit: 2}, func(int) []wickrusers.Device { return slices.Clone(all) })
	if want := []string{"d", "a", "e", "c", "b"}; !slices.Equal(got, want) {
		t.Fatalf("served %v, want %v", got, want)
	}
}

func TestDeviceTokenWithUnparsableValuesIsRefused(t *testing.T) {
	p := Page{Sort: []string{"created"}, Limit: 2}
	k := &projections.Keyset{Sort: "[created]", Keys: []string{"yesterday"}, ID: "a"}
	if _, _, err := pageOf(devs("a", "b", "c"), p, "[created]", k); err == nil {
		t.Fatal("a token holding no time was taken")
	}
	k.Keys = nil
	if _, _, err := pageOf(devs("a", "b", "c"), p, "[created]", k); err == nil {
		t.Fatal("a token without its sort values was taken")
	}
}

func countOf(s []string, v string) (n int) {
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}
