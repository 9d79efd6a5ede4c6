// Package audit defines the CloudTrail-shaped record of one API call. Every call to an admin API,
// failed and denied ones included, produces exactly one record; records are events in streams
// "audit.apicalls-<server instance>" and are projected into rm.audit_records.
package audit

import (
	"encoding/json"
	"time"
)

// Stable names.
const (
	TypeAPICallRecorded = "audit.api_call_recorded.v1"
	StreamPrefix        = "audit.apicalls-"
)

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
type APICallRecorded struct {
	EventVersion       string          `json:"eventVersion"`
	UserIdentity       UserIdentity    `json:"userIdentity"`
	EventTime          time.Time       `json:"eventTime"`
	EventSource        string          `json:"eventSource"`
	EventName          string          `json:"eventName"`
	AWSRegion          string          `json:"awsRegion"`
	SourceIPAddress    string          `json:"sourceIPAddress"`
	UserAgent          string          `json:"userAgent"`
	ErrorCode          string          `json:"errorCode,omitempty"`
	ErrorMessage       string          `json:"errorMessage,omitempty"`
	RequestParameters  json.RawMessage `json:"requestParameters"`
	ResponseElements   json.RawMessage `json:"responseElements"`
	RequestID          string          `json:"requestID"`
	EventID            string          `json:"eventID"`
	EventType          string          `json:"eventType"`
	ReadOnly           bool            `json:"readOnly"`
	RecipientAccountID string          `json:"recipientAccountId"`
	HTTPStatus         int             `json:"httpStatus"`
}
