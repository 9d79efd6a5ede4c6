package phonenumber

import (
	"fmt"
	"sort"
)

// Available is a number of the seeded pool that Belfry can provision (there is no carrier: the pool
// stands in for the numbers a carrier would offer).
type Available struct {
	E164           string
	Country        string
	State          string
	City           string
	AreaCode       string
	Type           string // Local or TollFree
	TollFreePrefix string
}

// Number types and product types of the API.
const (
	TypeLocal           = "Local"
	TypeTollFree        = "TollFree"
	ProductBusinessCall = "BusinessCalling"
	ProductVoiceConn    = "VoiceConnector"
	ProductSipMediaApp  = "SipMediaApplicationDialIn"
)

var localAreas = []struct{ country, state, city, code string }{
	{"US", "WA", "Seattle", "206"}, {"US", "NY", "New York", "212"}, {"US", "IL", "Chicago", "312"},
	{"US", "CA", "San Francisco", "415"}, {"US", "TX", "Austin", "512"}, {"US", "MA", "Boston", "617"},
	{"CA", "ON", "Toronto", "416"}, {"CA", "BC", "Vancouver", "604"},
}

var tollFreePrefixes = []string{"800", "833", "844", "855", "866", "877", "888"}

var pool = func() []Available {
	var out []Available
	for _, a := range localAreas {
		for i := 100; i < 300; i++ {
			out = append(out, Available{E164: fmt.Sprintf("+1%s555%04d", a.code, i), Country: a.country, State: a.state,
				City: a.city, AreaCode: a.code, Type: TypeLocal})
		}
	}
	for _, p := range tollFreePrefixes {
		for i := 100; i < 200; i++ {
			out = append(out, Available{E164: fmt.Sprintf("+1%s555%04d", p, i), Country: "US", AreaCode: p, Type: TypeTollFree, TollFreePrefix: p})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].E164 < out[j].E164 })
	return out
}()

var byNumber = func() map[string]Available {
	m := make(map[string]Available, len(pool))
	for _, a := range pool {
		m[a.E164] = a
	}
	return m
}()

// Pool returns the whole seeded pool, ordered by number.
func Pool() []Available { return pool }

// Lookup returns a pool number.
func Lookup(e164 string) (Available, bool) {
	a, ok := byNumber[e164]
	return a, ok
}

// Country is a supported country and its number types.
type Country struct {
	Code  string
	Types []string
}

// Countries lists where Business Calling numbers can be provisioned (guide §6: the console provisions
// Business Calling numbers only; international numbers need Voice Connectors).
func Countries(productType string) []Country {
	if productType != ProductBusinessCall && productType != ProductVoiceConn {
		return nil
	}
	return []Country{{Code: "CA", Types: []string{TypeLocal, TypeTollFree}}, {Code: "US", Types: []string{TypeLocal, TypeTollFree}}}
}

// Query narrows a search of the pool; empty fields do not filter.
type Query struct {
	AreaCode, City, Country, State, TollFreePrefix, Type string
}

// Match reports whether a pool number satisfies the query.
func (q Query) Match(a Available) bool {
	return (q.AreaCode == "" || a.AreaCode == q.AreaCode && a.Type == TypeLocal) &&
		(q.City == "" || equalFold(a.City, q.City)) &&
		(q.Country == "" || a.Country == q.Country) &&
		(q.State == "" || a.State == q.State) &&
		(q.TollFreePrefix == "" || a.TollFreePrefix == q.TollFreePrefix) &&
		(q.Type == "" || a.Type == q.Type)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 32
		}
		if 'A' <= y && y <= 'Z' {
			y += 32
		}
		if x != y {
			return false
		}
	}
	return true
}
