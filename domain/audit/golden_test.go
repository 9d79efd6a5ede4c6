package audit_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/belfry/belfry/domain/audit"
	"github.com/belfry/belfry/domain/internal/eventtest"
)

var gAt = time.Date(2026, 3, 14, 9, 26, 53, 589000000, time.UTC)

var gIdentity = audit.UserIdentity{Type: "IAMUser", PrincipalID: "AIDA2JH4K6M8P0R2T4V6X", ARN: "arn:aws:iam::123456789012:user/alice.admin",
	AccountID: "123456789012", AccessKeyID: "AKIA2JH4K6M8P0R2T4V6", UserName: "alice.admin"}

func gCall(name, requestID, eventID string, status int) audit.APICallRecorded {
	return audit.APICallRecorded{EventVersion: "1.08", UserIdentity: gIdentity, EventTime: gAt, EventSource: "chime.amazonaws.com",
		EventName: name, AWSRegion: "us-east-1", SourceIPAddress: "203.0.113.24",
		UserAgent: "aws-sdk-go-v2/1.36.3 os/linux lang/go#1.26 md/GOOS#linux md/GOARCH#amd64 api/chime#1.36.2",
		RequestID: requestID, EventID: eventID, EventType: "AwsApiCall", RecipientAccountID: "123456789012", HTTPStatus: status}
}

// examples are the shapes of the one stored audit event (testdata/golden): a successful call, a failed
// one ("error"), one whose request was too large to record ("truncated"), and the writer's report of
// dropped records ("dropped"); together they set every field.
var examples = func() []eventtest.Example[audit.APICallRecorded] {
	ok := gCall("UpdateUser", "6f1d3b5a-7c9e-4a20-b4d6-e8f0a2c4e6b8", "0a2c4e6f-8b1d-4f35-a7c9-1e3b5d7f9a2c", 200)
	ok.RequestParameters = json.RawMessage(`{"accountId":"5e1b0f7a-3c2d-4b8e-9a61-0d4f2c7e8b93","userId":"8c3e2a71-64b0-4f5d-b1a2-97e0c5d3f468","licenseType":"Basic"}`)
	ok.ResponseElements = json.RawMessage(`{"user":{"userId":"8c3e2a71-64b0-4f5d-b1a2-97e0c5d3f468","licenseType":"Basic","personalPIN":"HIDDEN_DUE_TO_SECURITY_REASONS"}}`)

	failed := gCall("GetAccount", "c3e5a7b9-1d2f-4a46-8c0e-2a4c6e8f0b1d", "5b7d9f1a-3c5e-4b70-92d4-6f8a0c2e4a6c", 404)
	failed.ReadOnly = true
	failed.RequestParameters = json.RawMessage(`{"accountId":"00000000-0000-4000-8000-000000000000"}`)
	failed.ResponseElements = json.RawMessage(`null`)
	failed.ErrorCode, failed.ErrorMessage = "NotFoundException", "The account 00000000-0000-4000-8000-000000000000 does not exist"

	big := gCall("BatchCreateRoomMembership", "e7a9c1e3-5b7d-4f92-a6b8-0c2e4a6c8e0f", "9d1f3b5d-7f9b-4c14-b8e0-a2c4e6a8c0e2", 201)
	big.RequestParameters, big.ResponseElements = json.RawMessage(`null`), json.RawMessage(`{"errors":[]}`)
	big.AdditionalEventData = &audit.AdditionalEventData{Truncated: []audit.TruncatedMember{{Member: "requestParameters", Reason: "tooLarge",
		Bytes: 131_207, SHA256: "4f2a8c6e0b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a"}}}

	dropped := audit.APICallRecorded{EventVersion: "1.08", UserIdentity: audit.UserIdentity{Type: "AWSService"}, EventTime: gAt,
		EventSource: "belfry.local", EventName: audit.EventNameRecordsDropped, RequestParameters: json.RawMessage(`null`),
		ResponseElements: json.RawMessage(`null`), RequestID: "2c4e6a8c-0e2a-4c6e-8a0c-4e6a8c0e2a4c", EventID: "2c4e6a8c-0e2a-4c6e-8a0c-4e6a8c0e2a4c",
		EventType: "AwsServiceEvent", ReadOnly: true, ServiceEventDetails: &audit.ServiceEventDetails{WindowStart: gAt.Add(-time.Minute), WindowEnd: gAt,
			Dropped: 1_842, ByReason: map[string]int64{"unauthenticated_lane_full": 1_842}}}
	expired := audit.APICallRecorded{EventVersion: "1.08", UserIdentity: audit.UserIdentity{Type: "AWSService"}, EventTime: gAt,
		EventSource: "belfry.local", EventName: audit.EventNameRecordsExpired, RequestParameters: json.RawMessage(`null`),
		ResponseElements: json.RawMessage(`null`), RequestID: "3d5f7b9d-1f3b-4d7f-9b1d-5f7b9d1f3b5d", EventID: "3d5f7b9d-1f3b-4d7f-9b1d-5f7b9d1f3b5d",
		EventType: "AwsServiceEvent", ReadOnly: true, ServiceEventDetails: &audit.ServiceEventDetails{WindowStart: gAt.Add(-400 * 24 * time.Hour),
			WindowEnd: gAt.Add(-365 * 24 * time.Hour), Expired: 52_310, Retention: "8760h0m0s"}}
	return []eventtest.Example[audit.APICallRecorded]{
		eventtest.Ex(ok), eventtest.Variant("error", failed), eventtest.Variant("truncated", big), eventtest.Variant("dropped", dropped),
		eventtest.Variant("expired", expired),
	}
}()

// TestEventTable checks the audit event table against its golden files (run with BELFRY_UPDATE_GOLDEN=1
// to write the file of a new shape).
func TestEventTable(t *testing.T) {
	t.Parallel()
	eventtest.Check(t, audit.Events, examples...)
}

// TestGoldenRecordsAreWhatEncodeWrites: the writer stores audit.Encode's bytes, not encoding/json's;
// for every golden record (no '<', '>' or '&', already bounded) they are the same bytes.
func TestGoldenRecordsAreWhatEncodeWrites(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(eventtest.Dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("golden files: %v %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var stored bytes.Buffer
		if err := json.Compact(&stored, b); err != nil {
			t.Fatal(err)
		}
		r, err := audit.Decode(audit.TypeAPICallRecorded, stored.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		enc, err := audit.Encode(r)
		if err != nil || !bytes.Equal(enc, stored.Bytes()) {
			t.Errorf("%s: Encode gave %s, %v; want %s", f, enc, err, stored.Bytes())
		}
	}
}
