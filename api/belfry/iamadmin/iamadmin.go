// Package iamadmin holds the use cases of Belfry's IAM administration: creating, activating,
// deactivating and deleting access keys, and attaching, putting and detaching identity policies.
// The `belfry admin` commands and the first start of a server call them.
//
// Invariants:
//   - Every change is a command on the IAM stream (domain/belfry/iam), stamped with the operator in
//     its envelope, and the call returns only after the IAM read model has applied it (so a running
//     server stops accepting a deactivated key within its key cache's 2 s) or after Config.Wait.
//   - Every call, refused ones included, is audited as an IAM call (eventSource iam.amazonaws.com) with
//     the operator as its identity, and the record is stored before the call returns.
//   - A secret access key exists in clear only in this process's memory and the one answer that
//     shows it; it is sealed under the key's own subject key before it reaches the log, and a deleted
//     key's subject key is destroyed first, so the secret is unreadable in every stored copy.
package iamadmin

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/audit"
	"github.com/belfry/belfry/domain/belfry/iam"
	"github.com/belfry/belfry/domain/envelope"
	"github.com/belfry/belfry/domain/iampolicy"
)

// Executor runs IAM commands on the IAM stream: the events appended and the $all position of the
// last one (0 when nothing was appended).
type Executor interface {
	ExecuteIAM(ctx context.Context, c iam.Command) ([]iam.Event, uint64, error)
}

// Sealer seals secrets under a subject's key and destroys subject keys.
type Sealer interface {
	SealFor(ctx context.Context, tenant, subject string, plaintext []byte) (domain.Sealed, error)
	DestroySubject(ctx context.Context, tenant, subject string) error
}

// Recorder stores an audit record durably.
type Recorder interface {
	Record(ctx context.Context, r audit.APICallRecorded) error
}

// Waiter waits until the IAM read model has applied a position.
type Waiter interface {
	WaitFor(ctx context.Context, pos uint64) error
}

// Operator is who runs the change: the account at the shell (or the server at its first start).
type Operator struct {
	Name string // e.g. "alice"
	Host string // the machine, shown as the source of the call
	Via  string // the user agent, e.g. "belfry-cli"
}

// Config wires the use cases.
type Config struct {
	Commands     Executor
	Secrets      Sealer
	Audit        Recorder
	ReadModel    Waiter
	AwsAccountID string
	Operator     Operator
	Region       string
	Wait         time.Duration // longest wait for the read model; default 10 s
	Now          func() time.Time
}

// Service runs IAM changes.
type Service struct{ cfg Config }

// New returns a Service; it fails on a Config that cannot work.
func New(cfg Config) (*Service, error) {
	if cfg.Commands == nil || cfg.Secrets == nil || cfg.Audit == nil || cfg.ReadModel == nil {
		return nil, errors.New("iamadmin: Commands, Secrets, Audit and ReadModel are required")
	}
	if cfg.AwsAccountID == "" || cfg.Operator.Name == "" {
		return nil, errors.New("iamadmin: AwsAccountID and Operator.Name are required")
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Operator.Via == "" {
		cfg.Operator.Via = "belfry-cli"
	}
	return &Service{cfg: cfg}, nil
}

// AccessKey is a newly created key; the secret is never shown again.
type AccessKey struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	UserName        string `json:"UserName"`
	AwsAccountID    string `json:"AwsAccountId"`
}

func randomID(prefix string) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return prefix + base32.StdEncoding.EncodeToString(b)[:16]
}

// CreateAccessKey creates a key for principal (created if new) with the managed policies attached.
func (s *Service) CreateAccessKey(ctx context.Context, principal string, policies []string) (AccessKey, error) {
	k, created, err := s.createKey(ctx, principal, policies, false)
	if err == nil && !created {
		err = errors.New("iamadmin: no key was created")
	}
	return k, err
}

// CreateFirstKey creates an AdministratorAccess key for "admin" unless a key was ever created;
// created is false when one was.
func (s *Service) CreateFirstKey(ctx context.Context) (AccessKey, bool, error) {
	return s.createKey(ctx, "admin", []string{"AdministratorAccess"}, true)
}

func (s *Service) createKey(ctx context.Context, principal string, policies []string, first bool) (AccessKey, bool, error) {
	secret := make([]byte, 30)
	_, _ = rand.Read(secret)
	key := AccessKey{AccessKeyID: randomID("AKIA"), SecretAccessKey: base64.StdEncoding.EncodeToString(secret),
		UserName: principal, AwsAccountID: s.cfg.AwsAccountID}
	params := map[string]any{"userName": principal, "attachPolicies": policies}
	var evs []iam.Event
	err := s.run(ctx, "CreateAccessKey", params, func(ctx context.Context) (response any, err error) {
		sealed, err := s.cfg.Secrets.SealFor(ctx, iam.Tenant, iam.KeySubject(key.AccessKeyID), []byte(key.SecretAccessKey))
		if err != nil {
			return nil, fmt.Errorf("iamadmin: seal the secret: %w", err)
		}
		evs, err = s.execute(ctx, iam.CreateAccessKey{Principal: principal, PrincipalID: randomID("AIDA"),
			AccessKeyID: key.AccessKeyID, Secret: sealed, ManagedPolicies: policies, OnlyIfFirst: first})
		if err != nil || len(evs) == 0 {
			return nil, err
		}
		return map[string]any{"accessKey": map[string]any{"accessKeyId": key.AccessKeyID, "status": "Active",
			"userName": principal, "createDate": s.cfg.Now().UTC()}}, nil
	})
	if err != nil || len(evs) == 0 {
		return AccessKey{}, false, err
	}
	return key, true, nil
}

// SetKeyActive activates or deactivates a key (UpdateAccessKey).
func (s *Service) SetKeyActive(ctx context.Context, keyID string, active bool) error {
	status := map[bool]string{true: "Active", false: "Inactive"}[active]
	return s.run(ctx, "UpdateAccessKey", map[string]any{"accessKeyId": keyID, "status": status}, func(ctx context.Context) (any, error) {
		_, err := s.execute(ctx, iam.SetKeyStatus{AccessKeyID: keyID, Active: active})
		return nil, err
	})
}

// DeleteAccessKey deletes a key: its secret's subject key is destroyed first, so even a failed
// append leaves a key that can no longer authenticate (and deleting it again completes the delete).
func (s *Service) DeleteAccessKey(ctx context.Context, keyID string) error {
	return s.run(ctx, "DeleteAccessKey", map[string]any{"accessKeyId": keyID}, func(ctx context.Context) (any, error) {
		if err := iam.ValidKeyID(keyID); err != nil {
			return nil, err
		}
		if err := s.cfg.Secrets.DestroySubject(ctx, iam.Tenant, iam.KeySubject(keyID)); err != nil {
			return nil, fmt.Errorf("iamadmin: destroy the key's secret: %w", err)
		}
		_, err := s.execute(ctx, iam.DeleteAccessKey{AccessKeyID: keyID})
		return nil, err
	})
}

// AttachManaged attaches a managed policy (AttachUserPolicy).
func (s *Service) AttachManaged(ctx context.Context, principal, name string) error {
	return s.run(ctx, "AttachUserPolicy", map[string]any{"userName": principal, "policyName": name}, func(ctx context.Context) (any, error) {
		_, err := s.execute(ctx, iam.AttachManagedPolicy{Principal: principal, PolicyName: name})
		return nil, err
	})
}

// PutInline stores or replaces an inline policy (PutUserPolicy).
func (s *Service) PutInline(ctx context.Context, principal, name string, doc iampolicy.Document) error {
	return s.putInline(ctx, principal, name, doc, doc, nil)
}

// PutInlineDocument is PutInline of a document as the operator gave it (a file's bytes): one that
// iampolicy.Parse refuses is refused inside the audited call, so that the refusal is audited as every
// other is. A refused document is recorded as its text when it is UTF-8 of at most
// maxRecordedDocument bytes, else by its size.
func (s *Service) PutInlineDocument(ctx context.Context, principal, name string, raw []byte) error {
	doc, err := iampolicy.Parse(raw)
	if err != nil {
		recorded := any(string(raw))
		if len(raw) > maxRecordedDocument || !utf8.Valid(raw) {
			recorded = fmt.Sprintf("(%d bytes, not recorded: over %d bytes or not UTF-8)", len(raw), maxRecordedDocument)
		}
		return s.putInline(ctx, principal, name, doc, recorded, err)
	}
	return s.putInline(ctx, principal, name, doc, doc, nil)
}

// maxRecordedDocument bounds the text of a refused policy document in its audit record.
const maxRecordedDocument = 8 << 10

// putInline stores doc as the principal's inline policy name, recorded as recorded, unless parseErr
// (the document's own refusal) or Enforceable refuses it.
func (s *Service) putInline(ctx context.Context, principal, name string, doc iampolicy.Document, recorded any, parseErr error) error {
	params := map[string]any{"userName": principal, "policyName": name, "policyDocument": recorded}
	return s.run(ctx, "PutUserPolicy", params, func(ctx context.Context) (any, error) {
		if parseErr != nil {
			return nil, parseErr
		}
		if err := Enforceable(doc); err != nil {
			return nil, err
		}
		_, err := s.execute(ctx, iam.PutInlinePolicy{Principal: principal, PolicyName: name, Document: doc})
		return nil, err
	})
}

// Enforceable refuses a document with a statement that iampolicy.Evaluate would skip: Belfry
// authorises every call on resource "*", so a statement whose Resource names only other resources
// never applies — harmless for an Allow, but a Deny of that kind would leave the calls it names
// allowed by the principal's other policies while the document says they are denied.
func Enforceable(doc iampolicy.Document) error {
	for i, st := range doc.Statement {
		if len(st.Resource) == 0 || slices.ContainsFunc(st.Resource, func(r string) bool { return iampolicy.Match(r, "*") }) {
			continue
		}
		return domain.Errorf(domain.KindInvalid, "Statement[%d]: Resource %q cannot be enforced: Belfry authorises actions on resource \"*\" only, "+
			"so this %s would never apply; use \"Resource\": \"*\"", i, []string(st.Resource), st.Effect)
	}
	return nil
}

// Detach removes a policy from a principal (DetachUserPolicy).
func (s *Service) Detach(ctx context.Context, principal, name string) error {
	return s.run(ctx, "DetachUserPolicy", map[string]any{"userName": principal, "policyName": name}, func(ctx context.Context) (any, error) {
		_, err := s.execute(ctx, iam.DetachPolicy{Principal: principal, PolicyName: name})
		return nil, err
	})
}

// execute runs c and waits until the read model has applied what it appended.
func (s *Service) execute(ctx context.Context, c iam.Command) ([]iam.Event, error) {
	evs, pos, err := s.cfg.Commands.ExecuteIAM(ctx, c)
	if err != nil || pos == 0 {
		return evs, err
	}
	wctx, cancel := context.WithTimeout(ctx, s.cfg.Wait)
	defer cancel()
	if err := s.cfg.ReadModel.WaitFor(wctx, pos); err != nil {
		return evs, fmt.Errorf("iamadmin: the change is stored, but the IAM read model did not apply it within %s: %w", s.cfg.Wait, err)
	}
	return evs, nil
}

// run stamps the command's events with the operator, runs do, and stores the audit record of the
// call (with the error, if any) before returning.
func (s *Service) run(ctx context.Context, name string, params any, do func(context.Context) (any, error)) error {
	reqID := uuid.NewString()
	op := s.cfg.Operator
	ctx = envelope.With(ctx, envelope.Envelope{ActorType: "operator", Actor: op.Name, RequestID: reqID,
		SourceIP: op.Host, UserAgent: op.Via, PrincipalARN: s.operatorARN()})
	resp, err := do(ctx)
	rec := s.record(name, reqID, params, resp, err)
	if aerr := s.cfg.Audit.Record(context.WithoutCancel(ctx), rec); aerr != nil {
		return errors.Join(err, fmt.Errorf("iamadmin: the audit record of %s was not stored: %w", name, aerr))
	}
	return err
}

func (s *Service) operatorARN() string { return "arn:aws:iam::" + s.cfg.AwsAccountID + ":root" }

func (s *Service) record(name, reqID string, params, resp any, err error) audit.APICallRecorded {
	op := s.cfg.Operator
	rec := audit.APICallRecorded{EventVersion: "1.08", EventTime: s.cfg.Now().UTC(), EventSource: "iam.amazonaws.com",
		EventName: name, AWSRegion: s.cfg.Region, SourceIPAddress: op.Host, UserAgent: op.Via,
		UserIdentity: audit.UserIdentity{Type: "Root", PrincipalID: "operator:" + op.Name, ARN: s.operatorARN(),
			AccountID: s.cfg.AwsAccountID, UserName: op.Name},
		RequestID: reqID, EventID: uuid.NewString(), EventType: "AwsApiCall", RecipientAccountID: s.cfg.AwsAccountID, HTTPStatus: 200}
	rec.RequestParameters, _ = json.Marshal(params)
	if resp != nil {
		rec.ResponseElements, _ = json.Marshal(resp)
	} else {
		rec.ResponseElements = json.RawMessage("null")
	}
	if err != nil {
		rec.ErrorCode, rec.ErrorMessage, rec.HTTPStatus = errorCode(err), err.Error(), httpStatus(err)
	}
	return rec
}

// errorCode names an error as IAM would.
func errorCode(err error) string {
	switch domain.KindOf(err) {
	case domain.KindInvalid:
		return "ValidationError"
	case domain.KindNotFound:
		return "NoSuchEntity"
	case domain.KindConflict:
		return "EntityAlreadyExists"
	case domain.KindLimitExceeded:
		return "LimitExceeded"
	}
	return "ServiceFailure"
}

func httpStatus(err error) int {
	switch domain.KindOf(err) {
	case domain.KindInvalid:
		return 400
	case domain.KindNotFound:
		return 404
	case domain.KindConflict:
		return 409
	case domain.KindLimitExceeded:
		return 409
	}
	return 500
}
