package awsproto

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/domain/audit"
)

// TestAuditMembersHideSecretsAtAnyDepth: sensitive members are hidden in requestParameters (path,
// query and body) and responseElements, whatever their case or depth; '<' is not escaped.
func TestAuditMembersHideSecretsAtAnyDepth(t *testing.T) {
	e := echo.New()
	req := httptest.NewRequest("PUT", "/console/port-in-orders/o1/documents/loa.pdf?token=upl-secret-1", nil)
	c := e.NewContext(req, httptest.NewRecorder())
	k := &Call{Echo: c, params: map[string]string{"id": "o1"},
		Body: []byte(`{"Pin":"1234","Note":"<b>","Items":[{"Password":"pw-secret-2","Name":"x"}],"Nested":{"SecretAccessKey":"sk-secret-3"}}`)}
	params := string(requestParameters(k))
	resp := string(lowerKeys([]byte(`{"Bot":{"SecurityToken":"tok-secret-4","BotId":"b1"},"User":{"PersonalPIN":"98765"}}`)))
	for _, secret := range []string{"upl-secret-1", "1234", "pw-secret-2", "sk-secret-3", "tok-secret-4", "98765"} {
		if strings.Contains(params, secret) || strings.Contains(resp, secret) {
			t.Errorf("%q recorded: %s / %s", secret, params, resp)
		}
	}
	if strings.Count(params, audit.Hidden) != 4 || strings.Count(resp, audit.Hidden) != 2 {
		t.Fatalf("want 4 and 2 hidden members: %s / %s", params, resp)
	}
	if !strings.Contains(params, `"note":"<b>"`) || !strings.Contains(params, `"name":"x"`) || !strings.Contains(resp, `"botId":"b1"`) {
		t.Fatalf("other members changed: %s / %s", params, resp)
	}
}

// TestAuditHidesSecretsUnderFoldedNames: the handlers decode bodies with encoding/json, which matches
// member names with Unicode case folding ("ſ" is an "s", "K" a "k"), so {"Paſſword": …} sets a
// Password; the audit record must hide such a member as it hides "Password".
func TestAuditHidesSecretsUnderFoldedNames(t *testing.T) {
	body := `{"Paſſword":"pw-secret-1","SecurityToKen":"tok-secret-2","Items":[{"ClientSecret":"cs-secret-3"}]}`
	var in struct {
		Password, SecurityToken string
		Items                   []struct{ ClientSecret string }
	}
	if err := json.Unmarshal([]byte(body), &in); err != nil || in.Password != "pw-secret-1" || in.SecurityToken != "tok-secret-2" ||
		len(in.Items) != 1 || in.Items[0].ClientSecret != "cs-secret-3" {
		t.Fatalf("the decoder reads the folded names as the sensitive members: %+v %v", in, err)
	}
	e := echo.New()
	c := e.NewContext(httptest.NewRequest("POST", "/x", nil), httptest.NewRecorder())
	k := &Call{Echo: c, params: map[string]string{}, Body: []byte(body)}
	params, resp := string(requestParameters(k)), string(lowerKeys([]byte(body)))
	for _, secret := range []string{"pw-secret-1", "tok-secret-2", "cs-secret-3"} {
		if strings.Contains(params, secret) || strings.Contains(resp, secret) {
			t.Errorf("%q recorded: %s / %s", secret, params, resp)
		}
	}
}

// TestAuditPathParametersAreTheOnesActedOn: the operation acts on the resource its path names; a
// query parameter or body member of the same name (which the operation ignores) must not replace it
// in requestParameters, or a caller deleting user U could leave a record that names user V.
func TestAuditPathParametersAreTheOnesActedOn(t *testing.T) {
	e := echo.New()
	c := e.NewContext(httptest.NewRequest("DELETE", "/accounts/a1/users/u-acted-on?accountId=a-decoy", nil), httptest.NewRecorder())
	k := &Call{Echo: c, params: map[string]string{"accountId": "a1", "userId": "u-acted-on"}, Body: []byte(`{"UserId":"u-decoy","Note":"x"}`)}
	var got map[string]any
	if err := json.Unmarshal(requestParameters(k), &got); err != nil {
		t.Fatal(err)
	}
	if got["userId"] != "u-acted-on" || got["accountId"] != "a1" || got["note"] != "x" {
		t.Fatalf("requestParameters do not name the resources acted on: %v", got)
	}
}
