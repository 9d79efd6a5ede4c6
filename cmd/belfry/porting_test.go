package main

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/porting"
)

func (r *running) consoleJSON(t *testing.T, method, path, body string) (int, string, map[string]any) {
	t.Helper()
	resp := r.signedRaw(t, method, path, body, "chime")
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), out
}

func TestPortingWorkflow(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Now()}
	b := startBelfryWith(t, func(m *Main) { m.Now = clk.Now })
	ctx := context.Background()
	c := b.client
	req := `{"ProductType":"BusinessCalling","PhoneNumbers":["+14255550100","+18005550999"],"BillingTelephoneNumber":"+14255550100",
		"AuthorizingPerson":"Mary Major","CurrentCarrier":"Example Telco","ServicePin":"S3rv1cePin42","ServiceAddress":"1 Main St, Seattle WA","CustomerName":"Example Corp",
		"PortDate":"2026-12-01T15:00:00Z","BtnOption":2}`
	st, typ, out := b.consoleJSON(t, "POST", "/console/port-in-orders", req)
	if st != 201 || out["PortInOrder"].(map[string]any)["Status"] != "SUBMITTED" {
		t.Fatalf("submit: %d %s %v", st, typ, out)
	}
	id := out["PortInOrder"].(map[string]any)["PortInOrderId"].(string)
	if st, typ, _ := b.consoleJSON(t, "POST", "/console/port-in-orders", `{"ProductType":"BusinessCalling","PhoneNumbers":["+442079460000"],"BillingTelephoneNumber":"+14255550100","AuthorizingPerson":"x","ServiceAddress":"y","CustomerName":"z","PortDate":"2026-12-01T15:00:00Z"}`); st != 400 {
		t.Fatalf("an international number with BusinessCalling: %d %s", st, typ)
	}

	// Documents: a 10-day upload link; uploads need the token.
	st, _, out = b.consoleJSON(t, "POST", "/console/port-in-orders/"+id+"?operation=request-documents", ``)
	if st != 200 || out["UploadToken"] == "" {
		t.Fatalf("request documents: %d %v", st, out)
	}
	token := out["UploadToken"].(string)
	if st, _, _ := b.consoleJSON(t, "PUT", "/console/port-in-orders/"+id+"/documents/loa.pdf?token=wrong", "%PDF-1.4 letter of agency"); st != 403 {
		t.Fatalf("upload with a wrong token: %d", st)
	}
	if st, typ, _ := b.consoleJSON(t, "PUT", "/console/port-in-orders/"+id+"/documents/loa.pdf?token="+token, "%PDF-1.4 letter of agency"); st != 204 {
		t.Fatalf("upload: %d %s", st, typ)
	}
	_, _, got := b.consoleJSON(t, "GET", "/console/port-in-orders/"+id, ``)
	o := got["PortInOrder"].(map[string]any)
	if o["Status"] != "PENDING_DOCUMENTS" || len(o["Documents"].([]any)) != 1 {
		t.Fatalf("after upload: %v", o)
	}

	// Operator transitions: back to SUBMITTED, FOC with its date, COMPLETED not before it.
	transition := func(body string) (int, string, map[string]any) {
		return b.consoleJSON(t, "POST", "/console/port-in-orders/"+id+"?operation=update-status", body)
	}
	if st, typ, _ := transition(`{"Status":"COMPLETED"}`); st != 409 {
		t.Fatalf("PENDING_DOCUMENTS → COMPLETED: %d %s", st, typ)
	}
	if st, _, _ := transition(`{"Status":"SUBMITTED","Note":"documents received"}`); st != 200 {
		t.Fatal("back to SUBMITTED")
	}
	foc := clk.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	if st, typ, _ := transition(`{"Status":"FOC","FocDate":"` + foc + `"}`); st != 200 {
		t.Fatalf("FOC: %d %s", st, typ)
	}
	if st, _, _ := transition(`{"Status":"COMPLETED"}`); st != 409 {
		t.Fatal("completing before the FOC date must be refused")
	}
	clk.Add(49 * time.Hour)
	st, _, out = transition(`{"Status":"COMPLETED"}`)
	if st != 200 || len(out["NumbersNotActivated"].([]any)) != 0 {
		t.Fatalf("complete: %d %v", st, out)
	}
	pn, err := c.GetPhoneNumber(ctx, &chime.GetPhoneNumberInput{PhoneNumberId: aws.String("+18005550999")})
	if err != nil || pn.PhoneNumber.Status != types.PhoneNumberStatusUnassigned || pn.PhoneNumber.Type != types.PhoneNumberTypeTollFree {
		t.Fatalf("ported number in the inventory: %+v %v", pn, err)
	}
	if st, _, _ := transition(`{"Status":"CANCEL_REQUESTED"}`); st != 409 {
		t.Fatal("COMPLETED is final")
	}
	st, _, list := b.consoleJSON(t, "GET", "/console/port-in-orders", ``)
	if st != 200 || len(list["PortInOrders"].([]any)) != 1 || list["PortInOrders"].([]any)[0].(map[string]any)["Status"] != "COMPLETED" {
		t.Fatalf("ListPortInOrders: %d %v", st, list)
	}

	// Port-out: the gaining carrier must give the owner's AWS account id and the PIN.
	if st, _, _ := b.consoleJSON(t, "PUT", "/console/phone-numbers/%2B14255550100/port-out-pin", `{"Pin":"ab"}`); st != 400 {
		t.Fatal("a 2-character PIN must be refused")
	}
	if st, typ, _ := b.consoleJSON(t, "PUT", "/console/phone-numbers/%2B14255550100/port-out-pin", `{"Pin":"ABCD123"}`); st != 204 {
		t.Fatalf("set PIN: %d %s", st, typ)
	}
	if st, _, _ := b.consoleJSON(t, "POST", "/console/phone-numbers/%2B14255550100?operation=port-out", `{"AwsAccountId":"000000000000","Pin":"ABCD123"}`); st != 403 {
		t.Fatal("a wrong AWS account id must be rejected")
	}
	if st, _, _ := b.consoleJSON(t, "POST", "/console/phone-numbers/%2B14255550100?operation=port-out", `{"AwsAccountId":"`+b.awsAcct+`","Pin":"WRONG1"}`); st != 403 {
		t.Fatal("a wrong PIN must be rejected")
	}
	if st, typ, _ := b.consoleJSON(t, "POST", "/console/phone-numbers/%2B14255550100?operation=port-out", `{"AwsAccountId":"`+b.awsAcct+`","Pin":"ABCD123"}`); st != 200 {
		t.Fatalf("port-out: %d %s", st, typ)
	}
	_, err = c.GetPhoneNumber(ctx, &chime.GetPhoneNumberInput{PhoneNumberId: aws.String("+14255550100")})
	apiErr(t, err, "NotFoundException", 404)
	portingPINsNeverInClear(t, b, id)
}

// portingPINsNeverInClear: neither the port-in service PIN nor the port-out PIN is in any event, audit
// record or read-model row, and the completed order's key is destroyed.
func portingPINsNeverInClear(t *testing.T, b *running, orderID string) {
	t.Helper()
	pins := map[string]string{"service PIN": "S3rv1cePin42", "port-out PIN": "ABCD123"}
	assertNoSecret(t, b.readAll(t), pins)
	for _, op := range []string{"CreatePortInOrder", "SetPortOutPin", "ValidatePortOut"} {
		for _, r := range b.audit(t, op, 1) {
			all := string(r.RequestParameters) + string(r.ResponseElements)
			for name, v := range pins {
				if strings.Contains(all, v) {
					t.Errorf("the %s in the audit record of %s: %s", name, op, all)
				}
			}
		}
	}
	pool, err := pgxpool.New(context.Background(), b.m.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var req string
	var destroyed bool
	if err := pool.QueryRow(context.Background(), `SELECT request::text FROM rm.chime_port_in_orders WHERE order_id = $1`, orderID).Scan(&req); err != nil ||
		strings.Contains(req, "S3rv1cePin42") || !strings.Contains(req, "sealedServicePin") {
		t.Fatalf("the read model's request: %s %v", req, err)
	}
	if err := pool.QueryRow(context.Background(), `SELECT key IS NULL FROM keys.subject_keys WHERE key_id = $1`,
		domain.SubjectKeyID(b.awsAcct, porting.ServicePINSubject(orderID))).Scan(&destroyed); err != nil || !destroyed {
		t.Fatalf("the completed order's service PIN key must be destroyed: %v %v", destroyed, err)
	}
}
