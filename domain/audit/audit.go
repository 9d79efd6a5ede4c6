// Package audit defines the CloudTrail-shaped record of one API call. Every signed call to an admin
// API, failed and denied ones included, produces exactly one record; an unsigned call produces one
// unless it is dropped under load, and drops are reported by AuditRecordsDropped records. Records are
// events in streams "audit.apicalls-<server instance>" and are projected into rm.audit_records.
package audit

import (
	"encoding/json"
	"time"

	"github.com/belfry/belfry/domain"
)

// Stable names.
const (
	TypeAPICallRecorded = "audit.api_call_recorded.v1"
	StreamPrefix        = "audit.apicalls-"
)

// Events is the audit stream's event table: its one stored event type. Decode and the golden-file
// tests (testdata/golden) come from it. Records are stored as Encode writes them (encoding/json without
// HTML escaping, bounded, scrubbed); the golden tests check that Encode and encoding/json both give a
// golden record's stored bytes back.
var Events = domain.NewRegistry("audit", domain.Register[APICallRecorded, APICallRecorded](TypeAPICallRecorded))

// Decode turns a stored audit event back into a record (Events.Decode).
func Decode(eventType string, data []byte) (APICallRecorded, error) {
	return Events.Decode(eventType, data)
}

// Hidden replaces the value of a sensitive member (a security token, a PIN, a password) in
// requestParameters and responseElements: CloudTrail's convention.
const Hidden = "HIDDEN_DUE_TO_SECURITY_REASONS"

// EventNameRecordsDropped names the service event that reports audit records the writer dropped (see
// ServiceEventDetails).
const EventNameRecordsDropped = "AuditRecordsDropped"

// EventNameRecordsExpired names the service event that reports audit records that passed the trail's
// retention (BELFRY_AUDIT_RETENTION) and were removed from the audit read model (see ServiceEventDetails).
const EventNameRecordsExpired = "AuditRecordsExpired"

// UserIdentity is who made the call.
type UserIdentity struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId,omitempty"`
	ARN         string `json:"arn,omitempty"`
	AccountID   string `json:"accountId,omitempty"`
	AccessKeyID string `json:"accessKeyId,omitempty"`
	UserName    string `json:"userName,omitempty"`
}

// APICallRecorded is one CloudTrail-shaped record.
//
// Every record is bounded (Bound, which Encode applies): requestParameters and responseElements
// larger than MaxMemberBytes encoded, or not valid JSON, are recorded as null; userAgent,
// errorMessage, sourceIPAddress and the userIdentity strings are cut to MaxStringBytes (at a UTF-8
// boundary). Each such member is listed in additionalEventData.truncated with the size and SHA-256 of
// what the call carried, so an auditor sees that a member was left out and can match it against a
// copy. An encoded record is therefore at most MaxRecordBytes.
//
// Sensitive members (security tokens, PINs, passwords, secret keys) hold Hidden instead of their value.
//
// A record with EventType "AwsServiceEvent" and EventName EventNameRecordsDropped or
// EventNameRecordsExpired is not an API call: its serviceEventDetails say how many records were dropped
// in a time window, and why, or how many passed the retention.
type APICallRecorded struct {
	EventVersion        string               `json:"eventVersion"`
	UserIdentity        UserIdentity         `json:"userIdentity"`
	EventTime           time.Time            `json:"eventTime"`
	EventSource         string               `json:"eventSource"`
	EventName           string               `json:"eventName"`
	AWSRegion           string               `json:"awsRegion"`
	SourceIPAddress     string               `json:"sourceIPAddress"`
	UserAgent           string               `json:"userAgent"`
	ErrorCode           string               `json:"errorCode,omitempty"`
	ErrorMessage        string               `json:"errorMessage,omitempty"`
	RequestParameters   json.RawMessage      `json:"requestParameters"`
	ResponseElements    json.RawMessage      `json:"responseElements"`
	AdditionalEventData *AdditionalEventData `json:"additionalEventData,omitempty"`
	ServiceEventDetails *ServiceEventDetails `json:"serviceEventDetails,omitempty"`
	RequestID           string               `json:"requestID"`
	EventID             string               `json:"eventID"`
	EventType           string               `json:"eventType"`
	ReadOnly            bool                 `json:"readOnly"`
	RecipientAccountID  string               `json:"recipientAccountId"`
	HTTPStatus          int                  `json:"httpStatus"`
}

// AdditionalEventData says what Bound left out of a record.
type AdditionalEventData struct {
	Truncated []TruncatedMember `json:"truncated,omitempty"`
}

// TruncatedMember describes one member that was cut or left out.
type TruncatedMember struct {
	Member string `json:"member"` // e.g. "requestParameters", "userAgent", "userIdentity.accessKeyId"
	Reason string `json:"reason"` // "tooLarge" or "invalidJSON"
	Bytes  int    `json:"bytes"`  // the size of the member as the call carried it
	SHA256 string `json:"sha256"` // hex SHA-256 of those bytes
}

// ServiceEventDetails are the serviceEventDetails of Belfry's own service events.
//
// AuditRecordsDropped: Dropped records were lost between WindowStart and WindowEnd, ByReason says why
// (e.g. "unauthenticated_lane_full"); Dropped is never 0 in such a record.
//
// AuditRecordsExpired: Expired records with an event time in [WindowStart, WindowEnd) passed the
// Retention and were removed from the audit read model (the events stay in the log).
type ServiceEventDetails struct {
	WindowStart time.Time        `json:"windowStart"`
	WindowEnd   time.Time        `json:"windowEnd"`
	Dropped     int64            `json:"droppedRecords,omitempty"`
	ByReason    map[string]int64 `json:"byReason,omitempty"`
	Expired     int64            `json:"expiredRecords,omitempty"`
	Retention   string           `json:"retention,omitempty"`
}
