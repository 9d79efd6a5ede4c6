// Package cloudtrail writes Belfry's audit records (domain/audit) as a CloudTrail trail writes them:
// gzip JSON log files {"Records":[...]} and hourly, signed digest files, with CloudTrail's key layout,
// to a directory or an S3-compatible bucket, so that the tools that read CloudTrail files read
// Belfry's. It also verifies such a trail (the digest chain, the signatures and every log file's hash).
//
// Layout (the same for every target; Prefix, when set, comes first):
//
//	AWSLogs/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/<account>_CloudTrail_<region>_<yyyymmddThhmmZ>_<unique>.json.gz
//	AWSLogs/<account>/CloudTrail-Digest/<region>/<yyyy>/<mm>/<dd>/<account>_CloudTrail-Digest_<region>_<trail>_<home region>_<yyyymmddThhmmssZ>.json.gz
//
// Invariants:
//   - A log file holds the records of one account, one region and one 5-minute window of event time
//     (at most MaxFileRecords records and about MaxFileBytes bytes; a fuller window is cut into
//     several files). The account is the record's recipientAccountId, or the installation's account
//     when the record has none; the region is its awsRegion, or the trail's home region. The time in
//     its name is the start of its window.
//   - Output is a function of the records, the range and the key alone: records are ordered by
//     (window, account, region, event time, event id), the gzip header carries no time or name, and
//     <unique> is the first 16 characters of the base32 SHA-256 of the uncompressed file. Exporting
//     the same range twice gives byte-identical files, digests included (PKCS #1 v1.5 signatures are
//     deterministic). An export's digest chains start at the hour of its start (a starting digest) and
//     end with a final digest at its end; its last window is cut at its end.
//   - The digest of an account and region for the hour [H, H+1h) lists the log files of the windows
//     that start in that hour and the late files delivered while that hour was open (see Delivery), with
//     the SHA-256 of each file's uncompressed content; it links the previous digest of the same
//     account and region (its key, the SHA-256 of its uncompressed content and its signature) and is
//     signed SHA256withRSA over CloudTrail's data-to-sign string. A digest is written for every hour,
//     empty or not, from the first hour of the account and region on.
//   - The signature of a digest is stored as CloudTrail stores it, in the object metadata "signature"
//     (hex) and "signature-algorithm" (x-amz-meta-*); a directory target keeps that metadata in a
//     sidecar file <digest key>.metadata.json.
package cloudtrail

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/belfry/belfry/domain/audit"
)

// Window is the span of event time one log file covers.
const Window = 5 * time.Minute

// Bounds of one log file.
const (
	MaxFileRecords = 5000
	MaxFileBytes   = 16 << 20
)

// Time formats CloudTrail uses.
const (
	timeFormat       = "2006-01-02T15:04:05Z"
	logNameFormat    = "20060102T1504Z"
	digestNameFormat = "20060102T150405Z"
)

// Hash and signature algorithm names, as CloudTrail writes them.
const (
	HashAlgorithm      = "SHA-256"
	SignatureAlgorithm = "SHA256withRSA"
)

// Record is one record as a CloudTrail log file carries it: the audit record's members in CloudTrail's
// order, eventTime to the second, managementEvent and eventCategory added (every Belfry record is a
// management event). Belfry's httpStatus is not a CloudTrail member and is left out (errorCode says
// that a call failed).
type Record struct {
	EventVersion        string                     `json:"eventVersion"`
	UserIdentity        audit.UserIdentity         `json:"userIdentity"`
	EventTime           string                     `json:"eventTime"`
	EventSource         string                     `json:"eventSource"`
	EventName           string                     `json:"eventName"`
	AWSRegion           string                     `json:"awsRegion"`
	SourceIPAddress     string                     `json:"sourceIPAddress"`
	UserAgent           string                     `json:"userAgent"`
	ErrorCode           string                     `json:"errorCode,omitempty"`
	ErrorMessage        string                     `json:"errorMessage,omitempty"`
	RequestParameters   json.RawMessage            `json:"requestParameters"`
	ResponseElements    json.RawMessage            `json:"responseElements"`
	AdditionalEventData *audit.AdditionalEventData `json:"additionalEventData,omitempty"`
	ServiceEventDetails *audit.ServiceEventDetails `json:"serviceEventDetails,omitempty"`
	RequestID           string                     `json:"requestID"`
	EventID             string                     `json:"eventID"`
	ReadOnly            bool                       `json:"readOnly"`
	EventType           string                     `json:"eventType"`
	ManagementEvent     bool                       `json:"managementEvent"`
	RecipientAccountID  string                     `json:"recipientAccountId"`
	EventCategory       string                     `json:"eventCategory"`
}

// FromAudit converts an audit record; account and region are those of the file it goes to.
func FromAudit(r audit.APICallRecorded, account, region string) Record {
	null := func(m json.RawMessage) json.RawMessage {
		if len(m) == 0 {
			return json.RawMessage("null")
		}
		return m
	}
	return Record{
		EventVersion: r.EventVersion, UserIdentity: r.UserIdentity, EventTime: r.EventTime.UTC().Format(timeFormat),
		EventSource: r.EventSource, EventName: r.EventName, AWSRegion: region, SourceIPAddress: r.SourceIPAddress,
		UserAgent: r.UserAgent, ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage,
		RequestParameters: null(r.RequestParameters), ResponseElements: null(r.ResponseElements),
		AdditionalEventData: r.AdditionalEventData, ServiceEventDetails: r.ServiceEventDetails,
		RequestID: r.RequestID, EventID: r.EventID, ReadOnly: r.ReadOnly, EventType: r.EventType,
		ManagementEvent: true, RecipientAccountID: account, EventCategory: "Management",
	}
}

// logFileJSON is the uncompressed content of a log file.
func logFileJSON(records []Record) ([]byte, error) {
	b, err := audit.MarshalJSON(struct {
		Records []Record `json:"Records"`
	}{records})
	if err != nil {
		return nil, fmt.Errorf("cloudtrail: encode log file: %w", err)
	}
	return b, nil
}

// gzipBytes compresses b deterministically: no name, no modification time, a fixed level.
func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
	_, _ = zw.Write(b)                                       // writes to a bytes.Buffer do not fail
	_ = zw.Close()
	return buf.Bytes()
}

// maxDigestSize bounds a digest file once inflated: one lists the log files of an hour of one
// account and region, a few KiB; a file inflating to more was not written by a trail.
const maxDigestSize = 16 << 20

// errTooLarge is a gzip file that inflates to more than its limit.
var errTooLarge = errors.New("inflates to more than the limit")

// gunzip inflates a gzip file of at most limit bytes once inflated, reading no further.
func gunzip(b []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	n, err := out.ReadFrom(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, fmt.Errorf("%w of %d bytes", errTooLarge, limit)
	}
	return out.Bytes(), zr.Close()
}

// gunzipSHA256 is the hex SHA-256 of a gzip file's inflated content, hashed as it inflates: a log
// file of any size is checked without holding it.
func gunzipSHA256(b []byte) (string, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(h, zr); err != nil {
		return "", err
	}
	if err := zr.Close(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sha256Hex is the hex SHA-256 of b.
func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// unique is the <unique> part of a log file's name: derived from its uncompressed content.
func unique(content []byte) string {
	s := sha256.Sum256(content)
	return base32.StdEncoding.EncodeToString(s[:])[:16]
}

// Layout names the keys of one trail.
type Layout struct {
	Prefix     string // key prefix without a trailing slash; may be empty
	Trail      string // trail name in digest keys
	HomeRegion string // the trail's home region
}

func (l Layout) prefixed(key string) string {
	if l.Prefix == "" {
		return key
	}
	return l.Prefix + "/" + key
}

// LogKey is the key of a log file of the window starting at w.
func (l Layout) LogKey(account, region string, w time.Time, uniq string) string {
	w = w.UTC()
	return l.prefixed(fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz",
		account, region, w.Format("2006/01/02"), account, region, w.Format(logNameFormat), uniq))
}

// DigestKey is the key of the digest that ends at end.
func (l Layout) DigestKey(account, region string, end time.Time) string {
	end = end.UTC()
	return l.prefixed(fmt.Sprintf("AWSLogs/%s/CloudTrail-Digest/%s/%s/%s_CloudTrail-Digest_%s_%s_%s_%s.json.gz",
		account, region, end.Format("2006/01/02"), account, region, l.Trail, l.HomeRegion, end.Format(digestNameFormat)))
}
