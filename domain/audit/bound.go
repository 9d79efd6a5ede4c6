package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Size bounds of one record.
const (
	// MaxMemberBytes bounds requestParameters and responseElements, each, as encoded JSON.
	MaxMemberBytes = 100 << 10
	// MaxStringBytes bounds the free-text strings a caller controls (userAgent, errorMessage,
	// sourceIPAddress, the userIdentity strings).
	MaxStringBytes = 2 << 10
	// MaxRecordBytes bounds an encoded record: two full members, the bounded strings, and the rest.
	MaxRecordBytes = 2*MaxMemberBytes + 16*MaxStringBytes
)

const (
	reasonTooLarge    = "tooLarge"
	reasonInvalidJSON = "invalidJSON"
)

// Bound enforces the size bounds documented on APICallRecorded; it is idempotent.
func (r *APICallRecorded) Bound() {
	r.RequestParameters = r.boundMember("requestParameters", r.RequestParameters)
	r.ResponseElements = r.boundMember("responseElements", r.ResponseElements)
	for _, s := range []struct {
		name string
		v    *string
	}{
		{"userAgent", &r.UserAgent}, {"errorMessage", &r.ErrorMessage}, {"sourceIPAddress", &r.SourceIPAddress},
		{"errorCode", &r.ErrorCode}, {"eventName", &r.EventName},
		{"userIdentity.accessKeyId", &r.UserIdentity.AccessKeyID}, {"userIdentity.arn", &r.UserIdentity.ARN},
		{"userIdentity.principalId", &r.UserIdentity.PrincipalID}, {"userIdentity.userName", &r.UserIdentity.UserName},
		{"userIdentity.accountId", &r.UserIdentity.AccountID}, {"recipientAccountId", &r.RecipientAccountID},
	} {
		if len(*s.v) > MaxStringBytes {
			r.note(s.name, reasonTooLarge, []byte(*s.v))
			*s.v = cutUTF8(*s.v, MaxStringBytes)
		}
	}
}

// boundMember returns m, or null (noted) when m is too large or not JSON.
func (r *APICallRecorded) boundMember(name string, m json.RawMessage) json.RawMessage {
	switch {
	case len(m) == 0:
		return json.RawMessage("null")
	case len(m) > MaxMemberBytes:
		r.note(name, reasonTooLarge, m)
		return json.RawMessage("null")
	case !json.Valid(m):
		r.note(name, reasonInvalidJSON, m)
		return json.RawMessage("null")
	}
	return m
}

func (r *APICallRecorded) note(member, reason string, b []byte) {
	if r.AdditionalEventData == nil {
		r.AdditionalEventData = &AdditionalEventData{}
	}
	sum := sha256.Sum256(b)
	r.AdditionalEventData.Truncated = append(r.AdditionalEventData.Truncated,
		TruncatedMember{Member: member, Reason: reason, Bytes: len(b), SHA256: hex.EncodeToString(sum[:])})
}

// cutUTF8 cuts s to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Encode bounds r and returns its JSON: without HTML escaping (a '<' stays one byte), with invalid UTF-8
// as U+FFFD and NUL (which PostgreSQL's jsonb cannot hold) as U+FFFD, so every encoded record can be
// projected. The result is at most MaxRecordBytes long.
func Encode(r APICallRecorded) ([]byte, error) {
	if r.AdditionalEventData != nil { // Bound appends to it: do not share the caller's slice
		cp := *r.AdditionalEventData
		cp.Truncated = append([]TruncatedMember(nil), cp.Truncated...)
		r.AdditionalEventData = &cp
	}
	r.Bound()
	b, err := MarshalJSON(r)
	if err != nil {
		return nil, fmt.Errorf("audit: encode record %s: %w", r.EventID, err)
	}
	if bytes.Contains(b, []byte(`\u0000`)) || !utf8.Valid(b) {
		if b, err = scrub(b); err != nil {
			return nil, fmt.Errorf("audit: encode record %s: %w", r.EventID, err)
		}
	}
	return b, nil
}

// MarshalJSON encodes v without HTML escaping and without a trailing newline.
func MarshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// scrub re-encodes JSON with NUL and invalid UTF-8 in strings and keys replaced by U+FFFD.
func scrub(b []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil { // Decode turns invalid UTF-8 into U+FFFD
		return nil, err
	}
	return MarshalJSON(scrubValue(v))
}

func scrubValue(v any) any {
	switch x := v.(type) {
	case string:
		return strings.ReplaceAll(x, "\x00", "\uFFFD")
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[strings.ReplaceAll(k, "\x00", "\uFFFD")] = scrubValue(e)
		}
		return out
	case []any:
		for i := range x {
			x[i] = scrubValue(x[i])
		}
	}
	return v
}
