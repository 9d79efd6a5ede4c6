package history

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

var referenceIDMember = regexp.MustCompile(`(?i)(ids?|e164|phonenumber)$`)

// referenceResources is the first implementation of Resources (a map of every top-level member,
// a regular expression for the names): what Resources must give for every input.
func referenceResources(stream string, data []byte) []string {
	idMember := referenceIDMember
	seen := map[string]bool{}
	var out []string
	add := func(v string) {
		if v == "" || len(v) > MaxResourceBytes || !utf8.ValidString(v) || strings.ContainsRune(v, 0) || seen[v] || len(out) >= MaxResourcesPerEvent {
			return
		}
		seen[v] = true
		out = append(out, v)
	}
	if _, id, ok := strings.Cut(stream, "-"); ok {
		add(id)
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return out
	}
	for _, k := range slices.Sorted(maps.Keys(top)) {
		raw := top[k]
		if !idMember.MatchString(k) {
			continue
		}
		var one string
		if json.Unmarshal(raw, &one) == nil {
			add(one)
			continue
		}
		var many []string
		if json.Unmarshal(raw, &many) == nil {
			for _, v := range many {
				add(v)
			}
		}
	}
	return out
}

var resourceSeeds = []string{
	`{"accountId":"7f1c","userId":"u-1","userIds":["u-2","u-3","u-1"],"e164":"+12065550100","name":"not an id","nested":{"botId":"ignored"},"count":3,"roomID":"r-9","bad":"\u0000"}`,
	`{"userId":"a","userId":"b"}`, `{"user\u0049d":"escaped-key","userId":"plain"}`, `{"ID":"x\"y","Ids":[1,"two",null],"phoneNumber":null}`,
	`{"idſ":"long-s","userIDS":"upper","kelvinId":"\ud83d\ude00"}`, `{ "a" : { "b" : [ "}" , "]" ] } , "zId" : "z" }`,
	`[{"userId":"array"}]`, `null`, `"userId"`, `not json`, `{"userId":"` + "\xff" + `"}`, `{"e164": "+1 206", "E164":"+44"}`,
	`{"userId":"x"} `, "\t{\"userId\"\n:\r\"ws\"}", `{}`, `{"Id":true,"otherId":{"id":"no"},"lastId":-1.5e3}`,
}

func TestResourcesAsTheReference(t *testing.T) {
	for _, s := range resourceSeeds {
		if got, want := Resources("chime.account-7f1c", []byte(s)), referenceResources("chime.account-7f1c", []byte(s)); !slices.Equal(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", s, got, want)
		}
	}
}

// FuzzResources: Resources gives what the reference gives, for any payload.
func FuzzResources(f *testing.F) {
	for _, s := range resourceSeeds {
		f.Add("chime.account-1", []byte(s))
	}
	f.Fuzz(func(t *testing.T, stream string, data []byte) {
		if got, want := Resources(stream, data), referenceResources(stream, data); !slices.Equal(got, want) {
			t.Fatalf("%q %q:\n got %q\nwant %q", stream, data, got, want)
		}
	})
}

func BenchmarkResources(b *testing.B) {
	data := []byte(`{"accountId":"0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0","userId":"1c2d3e4f-5061-7283-94a5-b6c7d8e9f0a1","email":"user0001234@bench.example.com","userType":"PrivateUser","licenseType":"Pro","createdAt":"2026-11-22T10:00:00Z"}`)
	b.Run("now", func(b *testing.B) {
		for b.Loop() {
			Resources("chime.account-0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", data)
		}
	})
	b.Run("reference", func(b *testing.B) {
		for b.Loop() {
			referenceResources("chime.account-0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", data)
		}
	})
}
