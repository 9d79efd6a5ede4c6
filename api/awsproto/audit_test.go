package awsproto

import (
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
