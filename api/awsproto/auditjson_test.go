package awsproto

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestFastMembersAreTheGenericOnes: whatever the fast path of responseElements writes is byte for
// byte what the generic path (decode, lower-camel, redact, encode) writes for the same JSON, over
// hand-picked cases and random documents; and it handles a typical response.
func TestFastMembersAreTheGenericOnes(t *testing.T) {
	cases := []string{
		`{}`, `[]`, `null`, `"x"`, `12`, `-0`, `0`, `{"A":1}`, `{"B":{"Password":"p","Z":[1,2,{"Token":null}]},"a":true}`,
		`{"Users":[{"UserId":"1","Username":"a@b.c","InviteCode":"x","Status":1,"Suspended":false}],"Failed":[]}`,
		`{"a":1,"a":2}`, `{"Secret":{"x":1}}`, `{"Pin":null}`, ` { "Sp aced" : [ 1 , 2 ] } `, `{"":1}`, `[[[]]]`,
		`{"n":1.5}`, `{"n":1e3}`, `{"n":1234567890123456}`, `{"n":012}`, `{"s":"a\"b"}`, `{"s":"\u003c"}`, `{"s":"é"}`,
		`{"a":1,}`, `{"a" 1}`, `[1,]`, `{"a":1}x`, `tru`, `{"a":[1 2]}`, `"unterminated`, `{"Émile":1}`, `{"k":"<&>"}`,
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		cases = append(cases, randomJSON(rng, 0))
	}
	handled := 0
	for _, c := range cases {
		fast, ok := fastLowerKeys([]byte(c))
		if !ok {
			continue
		}
		handled++
		if want := genericLowerKeys([]byte(c)); string(fast) != string(want) {
			t.Fatalf("%s:\n fast    %s\n generic %s", c, fast, want)
		}
	}
	t.Logf("handled %d of %d", handled, len(cases))
	if handled < len(cases)/3 {
		t.Fatalf("the fast path handled only %d of %d documents", handled, len(cases))
	}
	resp, _ := json.Marshal(map[string]any{"Successful": []map[string]any{{"UserId": "1000000050", "Username": "user0000001@bench.example.com",
		"FirstName": "First1", "Status": 1, "InviteExpiration": time.Date(2026, 11, 29, 7, 0, 0, 0, time.UTC), "Suspended": false}}, "Failed": []any{}})
	if _, ok := fastLowerKeys(resp); !ok {
		t.Fatalf("a typical response is not handled by the fast path: %s", resp)
	}
	for k := range sensitiveMembers {
		if len(k) > 32 || strings.ToLower(k) != k {
			t.Fatalf("sensitive member %q: sensitive() assumes lower-case names of at most 32 bytes", k)
		}
	}
}

// randomJSON is a random document of the shapes responses have, with the odd value the fast path
// leaves to the generic one. Keys never differ only in the case of their first letter (then the
// generic path keeps one of them at random).
func randomJSON(rng *rand.Rand, depth int) string {
	keys := []string{"UserId", "username", "Password", "password", "Items", "a", "B", "Token", "SecretAccessKey", "Z", "code", "Code2", ""}
	pick := rng.IntN(10)
	if depth > 3 {
		pick = 5 + rng.IntN(5)
	}
	switch pick {
	case 0, 1, 2:
		var b strings.Builder
		b.WriteString("{")
		for i := range rng.IntN(5) {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "%q:%s", keys[rng.IntN(len(keys))], randomJSON(rng, depth+1))
		}
		b.WriteString("}")
		return b.String()
	case 3, 4:
		var parts []string
		for range rng.IntN(4) {
			parts = append(parts, randomJSON(rng, depth+1))
		}
		return "[" + strings.Join(parts, ",") + "]"
	case 5:
		return []string{"true", "false", "null"}[rng.IntN(3)]
	case 6:
		return []string{"0", "-7", "123456789012345", "1234567890123456", "2.5", "1e21", "-0", "100"}[rng.IntN(8)]
	default:
		return []string{`""`, `"plain text"`, `"2026-11-29T07:00:00Z"`, `"a\u003cb"`, `"tab\t"`, `"ünï"`, `"q\"q"`, `"~ok!"`}[rng.IntN(8)]
	}
}
