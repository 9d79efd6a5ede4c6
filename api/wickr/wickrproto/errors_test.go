package wickrproto_test

import (
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/sigv4"
	"github.com/belfry/belfry/api/wickr/wickrproto"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
)

// TestToWire: every error a Wickr call can end with has one of the model's seven shapes.
func TestToWire(t *testing.T) {
	t.Parallel()
	joined := errors.Join(wickr.Invalid("networkName", "too long"), wickr.Invalid("accessLevel", "GOLD"))
	cases := []struct {
		name   string
		err    error
		status int
		typ    string
	}{
		{"a rejected member", wickr.Invalid("networkName", "too long"), 422, "ValidationError"},
		{"several", joined, 422, "ValidationError"},
		{"a rule about a member, any kind", wickr.FieldErr(&domain.Error{Kind: domain.KindForbidden, Msg: "plan"}, "settings.dataRetention", "Premium only"), 422, "ValidationError"},
		{"invalid without a member", domain.Errorf(domain.KindInvalid, "bad"), 400, "BadRequestError"},
		{"unprocessable", domain.Errorf(domain.KindUnprocessable, "default group"), 400, "BadRequestError"},
		{"not found", domain.Errorf(domain.KindNotFound, "no such network"), 404, "ResourceNotFoundError"},
		{"forbidden", domain.Errorf(domain.KindForbidden, "blocked"), 403, "ForbiddenError"},
		{"throttled", domain.Errorf(domain.KindThrottled, "slow down"), 429, "RateLimitError"},
		{"a bad signature", &sigv4.Error{Status: 403, Type: "InvalidSignatureException", Msg: "no"}, 401, "UnauthorizedError"},
		{"a malformed Authorization", &sigv4.Error{Status: 400, Type: "IncompleteSignatureException", Msg: "no"}, 400, "BadRequestError"},
		{"IAM refusal", &awsproto.WireError{Status: 403, Type: "ForbiddenException", Msg: "not authorized"}, 403, "ForbiddenError"},
		{"unknown operation", &awsproto.WireError{Status: 404, Type: "UnknownOperationException", Msg: "no op"}, 404, "ResourceNotFoundError"},
		{"body too large", &awsproto.WireError{Status: http.StatusRequestEntityTooLarge, Msg: "big"}, 400, "BadRequestError"},
		{"audit not stored", &awsproto.WireError{Status: 500, Type: "ServiceFailureException", Msg: "audit"}, 500, "InternalServerError"},
		{"anything else", errors.New("boom"), 500, "InternalServerError"},
		{"an unknown region", wickrproto.CheckRegion("us-west-2"), 400, "BadRequestError"},
	}
	for _, tc := range cases {
		w := wickrproto.ToWire(tc.err)
		if w.Status != tc.status || w.Type != tc.typ {
			t.Errorf("%s: %d %s, want %d %s", tc.name, w.Status, w.Type, tc.status, tc.typ)
		}
		body := w.Body.(map[string]any)
		if body["message"] == "" {
			t.Errorf("%s: no message", tc.name)
		}
		if _, ok := body["reasons"]; ok != (tc.typ == "ValidationError") {
			t.Errorf("%s: reasons %v", tc.name, body)
		}
	}
	got := wickrproto.ToWire(joined).Body.(map[string]any)["reasons"]
	want := []struct{ F, R string }{{"networkName", "too long"}, {"accessLevel", "GOLD"}}
	var fields []struct{ F, R string }
	v := reflect.ValueOf(got)
	for i := range v.Len() {
		e := v.Index(i)
		fields = append(fields, struct{ F, R string }{e.Field(0).String(), e.Field(1).String()})
	}
	if !reflect.DeepEqual(fields, want) {
		t.Fatalf("reasons %v", got)
	}
	if wickrproto.CheckRegion("eu-west-2") != nil || wickrproto.CheckRegion("us-gov-west-1") != nil {
		t.Fatal("Wickr regions are accepted")
	}
}
