package wickrproto_test

import (
	"reflect"
	"testing"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/wickr/wickrproto"
	"github.com/belfry/belfry/domain/wickr"
)

// TestDecodeRefusesIntegersOutOf32Bits: the model's Integer is 32-bit (the SDKs read it back into an
// int32), so a member decoded into a Go int is refused beyond that range, by its JSON path; a Long
// (int64) is not.
func TestDecodeRefusesIntegersOutOf32Bits(t *testing.T) {
	t.Parallel()
	type settings struct {
		MaxBor *int   `json:"maxBor,omitempty"`
		MaxTTL *int64 `json:"maxTtl,omitempty"`
	}
	type item struct {
		TTL *int `json:"inviteCodeTtl"`
	}
	var in struct {
		Settings *settings `json:"securityGroupSettings"`
		Users    []item    `json:"users"`
		Buffer   int       `json:"ssoTokenBufferMinutes"`
	}
	body := `{"securityGroupSettings":{"maxBor":2147483648,"maxTtl":1099511627776},"users":[{"inviteCodeTtl":1},{"inviteCodeTtl":-2147483649}],
		"ssoTokenBufferMinutes":2147483647}`
	err := wickrproto.Decode(&awsproto.Call{Body: []byte(body)}, &in)
	var fields []string
	for _, r := range wickr.Reasons(err) {
		fields = append(fields, r.Field)
	}
	if want := []string{"securityGroupSettings.maxBor", "users[1].inviteCodeTtl"}; !reflect.DeepEqual(fields, want) {
		t.Fatalf("refused %v (%v), want %v", fields, err, want)
	}
	var bounds struct {
		Settings *settings `json:"securityGroupSettings"`
	}
	if err := wickrproto.Decode(&awsproto.Call{Body: []byte(`{"securityGroupSettings":{"maxBor":-2147483648,"maxTtl":1099511627776}}`)}, &bounds); err != nil {
		t.Fatalf("the 32-bit bounds and a Long beyond them: %v", err)
	}
}
