package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestEncodeBoundsEveryRecord: hostile members come out bounded, projectable and labelled.
func TestEncodeBoundsEveryRecord(t *testing.T) {
	r := APICallRecorded{
		EventID:           "e1",
		RequestParameters: json.RawMessage(`{"name":"` + strings.Repeat("<", 2*MaxMemberBytes) + `"}`),
		ResponseElements:  json.RawMessage(`{"broken":`),
		UserAgent:         strings.Repeat("€", MaxStringBytes), // 3 bytes each: cut mid-character
		ErrorMessage:      "nul \x00 and bad \xff utf-8",
		UserIdentity:      UserIdentity{AccessKeyID: strings.Repeat("A", 1<<20)},
	}
	b, err := Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > MaxRecordBytes || bytes.Contains(b, []byte(`\u0000`)) || !utf8.Valid(b) {
		t.Fatalf("encoded record: %d bytes, NUL or invalid UTF-8 left: %.200s", len(b), b)
	}
	var got APICallRecorded
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if string(got.RequestParameters) != "null" || string(got.ResponseElements) != "null" || !utf8.ValidString(got.UserAgent) ||
		len(got.UserAgent) > MaxStringBytes || len(got.UserIdentity.AccessKeyID) != MaxStringBytes {
		t.Fatalf("members not bounded: %+v", got)
	}
	want := []string{"requestParameters:tooLarge", "responseElements:invalidJSON", "userAgent:tooLarge", "userIdentity.accessKeyId:tooLarge"}
	var have []string
	for _, m := range got.AdditionalEventData.Truncated {
		have = append(have, m.Member+":"+m.Reason)
	}
	if strings.Join(have, ",") != strings.Join(want, ",") {
		t.Fatalf("additionalEventData lists %v, want %v", have, want)
	}
	if got.AdditionalEventData.Truncated[0].Bytes != len(r.RequestParameters) || len(got.AdditionalEventData.Truncated[0].SHA256) != 64 {
		t.Fatalf("truncation note: %+v", got.AdditionalEventData.Truncated[0])
	}
	if r.AdditionalEventData != nil {
		t.Fatal("Encode changed its argument")
	}
}

// TestEncodeDoesNotEscapeHTML: '<' costs one byte, not six.
func TestEncodeDoesNotEscapeHTML(t *testing.T) {
	b, err := Encode(APICallRecorded{RequestParameters: json.RawMessage(`{"q":"<a>&"}`), UserAgent: "<b>"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`{"q":"<a>&"}`)) || !bytes.Contains(b, []byte(`"<b>"`)) {
		t.Fatalf("escaped: %s", b)
	}
}
