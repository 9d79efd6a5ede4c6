// Package porting models port-in orders (guide §6.2–6.4): a request moves through the Support status
// machine by operator transitions until COMPLETED (its numbers enter the inventory on the FOC date)
// or CANCELLED.
//
// Invariants: COMPLETED and CANCELLED are final; FOC needs a FOC date; COMPLETED is reached from FOC
// only, not before the FOC date; a document upload link lasts DocumentLinkTTL (10 days) and only its
// token's hash is stored; non-US numbers must use the SipMediaApplicationDialIn product type.
package porting

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/phonenumber"
)

// Stable names.
const (
	StreamPrefix        = "chime.portin-"
	TypeSubmitted       = "chime.portin.submitted.v1"
	TypeStatusChanged   = "chime.portin.status_changed.v1"
	TypeDocsRequested   = "chime.portin.documents_requested.v1"
	TypeDocUploaded     = "chime.portin.document_uploaded.v1"
	DocumentLinkTTL     = 10 * 24 * time.Hour
	MaxNumbersPerPortIn = 500
	// MaxText bounds the free-text fields of a request, MaxNote an operator's note and
	// MaxServicePIN the service PIN (in characters), MaxSealedPIN the sealed service PIN (in bytes):
	// an event must stay far below the event store's append limit, which JSON escaping (a '<' is
	// written as six bytes) would otherwise let a 1 MiB request exceed.
	MaxText       = 256
	MaxNote       = 1024
	MaxServicePIN = 64
	MaxSealedPIN  = 512
)

// Statuses (guide §6.4).
const (
	Submitted        = "SUBMITTED"
	PendingDocuments = "PENDING_DOCUMENTS"
	Exception        = "EXCEPTION"
	ChangeRequested  = "CHANGE_REQUESTED"
	CancelRequested  = "CANCEL_REQUESTED"
	FOC              = "FOC"
	Completed        = "COMPLETED"
	Cancelled        = "CANCELLED"
)

var transitions = map[string][]string{
	Submitted:        {PendingDocuments, Exception, FOC, ChangeRequested, CancelRequested},
	PendingDocuments: {Submitted, Exception, ChangeRequested, CancelRequested},
	Exception:        {Submitted, PendingDocuments, FOC, ChangeRequested, CancelRequested},
	ChangeRequested:  {Submitted, PendingDocuments, Exception, FOC, CancelRequested},
	FOC:              {Completed, Exception, ChangeRequested, CancelRequested},
	CancelRequested:  {Cancelled, Submitted},
}

// Sentinels.
var (
	ErrInvalid    = &domain.Error{Kind: domain.KindInvalid, Msg: "invalid port-in order"}
	ErrTransition = &domain.Error{Kind: domain.KindConflict, Msg: "status transition not allowed"}
	ErrNotFound   = &domain.Error{Kind: domain.KindNotFound, Msg: "port-in order not found"}
	ErrLink       = &domain.Error{Kind: domain.KindForbidden, Msg: "upload link not valid"}
)

// StreamName is the stream of one order.
func StreamName(id string) string { return StreamPrefix + id }

// Request is what the customer submits (the guide's Support form fields).
type Request struct {
	ProductType            string   `json:"productType"`
	PhoneNumbers           []string `json:"phoneNumbers"`
	BillingTelephoneNumber string   `json:"billingTelephoneNumber"`
	AuthorizingPerson      string   `json:"authorizingPerson"`
	CurrentCarrier         string   `json:"currentCarrier,omitempty"`
	ServiceAccountNumber   string   `json:"serviceAccountNumber,omitempty"`
	// LegacyServicePIN is the account's PIN with the losing carrier in clear, as events stored before
	// sealing hold it; Decide refuses it. ServicePIN is that PIN sealed under ServicePINSubject of the
	// ordering AWS account (its key is destroyed when the order is completed or cancelled).
	LegacyServicePIN string        `json:"servicePin,omitempty"`
	ServicePIN       domain.Sealed `json:"sealedServicePin,omitzero"`
	ServiceAddress   string        `json:"serviceAddress"`
	CustomerName     string        `json:"customerName"`
	PortAt           time.Time     `json:"portAt"`
	BTNOption        int           `json:"btnOption,omitempty"`
}

// Event is the sealed set of order events.
type Event interface{ EventType() string }

// OrderSubmitted records a new request.
type OrderSubmitted struct {
	AwsAccountID string    `json:"awsAccountId"`
	Request      Request   `json:"request"`
	At           time.Time `json:"at"`
}

// StatusChanged records an operator transition.
type StatusChanged struct {
	From  string    `json:"from"`
	To    string    `json:"to"`
	Note  string    `json:"note,omitempty"`
	FOCAt time.Time `json:"focAt,omitempty"`
	At    time.Time `json:"at"`
}

// DocumentsRequested records an upload link (its token's hash) and moves the order to PENDING_DOCUMENTS.
type DocumentsRequested struct {
	TokenHash string    `json:"tokenHash"`
	ExpiresAt time.Time `json:"expiresAt"`
	At        time.Time `json:"at"`
}

// DocumentUploaded records a document received through the link (the bytes are kept outside the log).
type DocumentUploaded struct {
	Name   string    `json:"name"`
	Size   int       `json:"size"`
	SHA256 string    `json:"sha256"`
	At     time.Time `json:"at"`
}

func (OrderSubmitted) EventType() string     { return TypeSubmitted }
func (StatusChanged) EventType() string      { return TypeStatusChanged }
func (DocumentsRequested) EventType() string { return TypeDocsRequested }
func (DocumentUploaded) EventType() string   { return TypeDocUploaded }

// Order is a port-in order.
type Order struct {
	AwsAccountID  string
	Request       Request
	Status        string
	FOCAt         time.Time
	LinkHash      string
	LinkExpiresAt time.Time
	Documents     []string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Initial is an order never submitted.
func Initial() Order { return Order{} }

// Command is the sealed set of order commands.
type Command interface{ isPortCommand() }

// Submit places an order.
type Submit struct {
	AwsAccountID string
	Request      Request
}

// Transition moves the order (an operator's action).
type Transition struct {
	AwsAccountID, To, Note string
	FOCAt                  time.Time
}

// RequestDocuments issues an upload link.
type RequestDocuments struct{ AwsAccountID, TokenHash string }

// UploadDocument records a document sent with a link token.
type UploadDocument struct {
	AwsAccountID, TokenHash, Name, SHA256 string
	Size                                  int
}

func (Submit) isPortCommand()           {}
func (Transition) isPortCommand()       {}
func (RequestDocuments) isPortCommand() {}
func (UploadDocument) isPortCommand()   {}

// ServicePINSubject is the data-key subject of an order's sealed service PIN (tenant: the AWS account).
func ServicePINSubject(orderID string) string { return "portin/" + orderID }

// Terminal reports whether an order in status st is over (its service PIN is no longer needed).
func Terminal(st string) bool { return st == Completed || st == Cancelled }

func validate(r Request, awsAccountID string) error {
	bad := func(f string, a ...any) error { return domain.Wrapf(ErrInvalid, f, a...) }
	if r.LegacyServicePIN != "" {
		return bad("ServicePin must be sealed before it is recorded")
	}
	if !r.ServicePIN.IsZero() && (len(r.ServicePIN.Data) == 0 || !strings.HasPrefix(r.ServicePIN.KeyID, domain.SubjectKeyID(awsAccountID, ServicePINSubject("")))) {
		return bad("ServicePin must be sealed under the order's key, got key %q", r.ServicePIN.KeyID)
	}
	if !phonenumber.ValidProduct(r.ProductType) {
		return bad("ProductType must be BusinessCalling, VoiceConnector or SipMediaApplicationDialIn, got %q", r.ProductType)
	}
	if len(r.PhoneNumbers) == 0 || len(r.PhoneNumbers) > MaxNumbersPerPortIn {
		return bad("PhoneNumbers must hold 1-%d numbers", MaxNumbersPerPortIn)
	}
	for _, n := range r.PhoneNumbers {
		if err := phonenumber.ValidateE164(n); err != nil {
			return err
		}
		if !strings.HasPrefix(n, "+1") && r.ProductType != phonenumber.ProductSipMediaApp {
			return bad("%s is not a US number: international numbers use the SipMediaApplicationDialIn product type", n)
		}
	}
	if err := phonenumber.ValidateE164(r.BillingTelephoneNumber); err != nil {
		return bad("BillingTelephoneNumber: %v", err)
	}
	for field, v := range map[string]string{"AuthorizingPerson": r.AuthorizingPerson, "ServiceAddress": r.ServiceAddress, "CustomerName": r.CustomerName} {
		if n := utf8.RuneCountInString(strings.TrimSpace(v)); n == 0 || utf8.RuneCountInString(v) > MaxText {
			return bad("%s is required (1-%d characters)", field, MaxText)
		}
	}
	for field, v := range map[string]string{"CurrentCarrier": r.CurrentCarrier, "ServiceAccountNumber": r.ServiceAccountNumber} {
		if utf8.RuneCountInString(v) > MaxText {
			return bad("%s must be at most %d characters", field, MaxText)
		}
	}
	if len(r.ServicePIN.Data) > MaxSealedPIN {
		return bad("ServicePin is too long")
	}
	if r.PortAt.IsZero() {
		return bad("PortDate is required")
	}
	if r.BTNOption < 0 || r.BTNOption > 3 {
		return bad("BtnOption must be 1, 2 or 3")
	}
	return nil
}

// Decide applies a command.
func Decide(o Order, c Command, now time.Time) ([]Event, error) {
	if s, ok := c.(Submit); ok {
		if o.Status != "" {
			return nil, nil
		}
		if err := validate(s.Request, s.AwsAccountID); err != nil {
			return nil, err
		}
		return []Event{OrderSubmitted{AwsAccountID: s.AwsAccountID, Request: s.Request, At: now.UTC()}}, nil
	}
	owner := ""
	switch c := c.(type) {
	case Transition:
		owner = c.AwsAccountID
	case RequestDocuments:
		owner = c.AwsAccountID
	case UploadDocument:
		owner = c.AwsAccountID
	}
	if o.Status == "" || o.AwsAccountID != owner {
		return nil, domain.Wrapf(ErrNotFound, "no such port-in order")
	}
	switch c := c.(type) {
	case Transition:
		if !slices.Contains(transitions[o.Status], c.To) {
			return nil, domain.Wrapf(ErrTransition, "a %s order cannot move to %s (allowed: %s)", o.Status, c.To, strings.Join(transitions[o.Status], ", "))
		}
		if utf8.RuneCountInString(c.Note) > MaxNote {
			return nil, domain.Wrapf(ErrInvalid, "Note must be at most %d characters", MaxNote)
		}
		if c.To == FOC && c.FOCAt.IsZero() {
			return nil, domain.Wrapf(ErrInvalid, "FOC needs the FocDate the carrier committed to")
		}
		if c.To == Completed && now.Before(o.FOCAt) {
			return nil, domain.Wrapf(ErrTransition, "the numbers become active on the FOC date %s", o.FOCAt.Format(time.RFC3339))
		}
		return []Event{StatusChanged{From: o.Status, To: c.To, Note: c.Note, FOCAt: c.FOCAt.UTC(), At: now.UTC()}}, nil
	case RequestDocuments:
		if o.Status == Completed || o.Status == Cancelled {
			return nil, domain.Wrapf(ErrTransition, "the order is %s", o.Status)
		}
		return []Event{DocumentsRequested{TokenHash: c.TokenHash, ExpiresAt: now.Add(DocumentLinkTTL).UTC(), At: now.UTC()}}, nil
	case UploadDocument:
		if o.LinkHash == "" || c.TokenHash != o.LinkHash || !now.Before(o.LinkExpiresAt) {
			return nil, domain.Wrapf(ErrLink, "the upload link is not valid or has expired (links last 10 days); ask for a new one")
		}
		if c.Name == "" || len(c.Name) > 200 || strings.ContainsAny(c.Name, "/\\") {
			return nil, domain.Wrapf(ErrInvalid, "document name %q is not valid", c.Name)
		}
		return []Event{DocumentUploaded{Name: c.Name, Size: c.Size, SHA256: c.SHA256, At: now.UTC()}}, nil
	}
	return nil, fmt.Errorf("porting: unknown command %T", c)
}

// Evolve folds an event.
func Evolve(o Order, e Event) Order {
	switch e := e.(type) {
	case OrderSubmitted:
		o = Order{AwsAccountID: e.AwsAccountID, Request: e.Request, Status: Submitted, CreatedAt: e.At, UpdatedAt: e.At}
	case StatusChanged:
		o.Status, o.UpdatedAt = e.To, e.At
		if !e.FOCAt.IsZero() {
			o.FOCAt = e.FOCAt
		}
	case DocumentsRequested:
		o.LinkHash, o.LinkExpiresAt, o.Status, o.UpdatedAt = e.TokenHash, e.ExpiresAt, PendingDocuments, e.At
	case DocumentUploaded:
		o.Documents = append(slices.Clone(o.Documents), e.Name)
		o.UpdatedAt = e.At
	}
	return o
}
