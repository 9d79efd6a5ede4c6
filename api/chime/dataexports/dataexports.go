// Package dataexports is the slice of the attachment export of guide §5.6 ("Requesting user
// attachments", Enterprise accounts): an administrator requests the attachments the account's users
// uploaded — to 1:1 and group conversations, and to the account's chat rooms — and, once the export
// is produced in the background, gets a link to a file listing one pre-signed URL per attachment.
// Anyone who has the file can download the attachments until the URLs expire, 6 days after the
// export was ready; an account can request an export once every 7 days.
//
//	POST /console/accounts/{accountId}/data-exports {"UserId"?}   StartDataExport (IAM chime:StartDataExport)
//	GET  /console/accounts/{accountId}/data-exports               RetrieveDataExport (chime:RetrieveDataExport)
//	GET  /exports/v1/{exportId}/attachments.txt?Expires=&Signature=                  the listing file
//	GET  /exports/v1/{exportId}/attachments/{attachmentId}?Expires=&Signature=       one attachment
//
// An export that cannot be produced is retried every minute and Failed after GiveUpAfter.
//
// Invariants: a URL is signed by Belfry (HMAC-SHA256 under a key of the data directory) over what it
// names and its expiry, and the expiry it carries must be the export's own: nothing the client sends
// is trusted beyond the signature; an expired or tampered URL is refused (403) and changes nothing;
// an attachment redacted or purged since the export answers 404 (its key is gone), and so does one of
// a room deleted since (even while a failed destruction left its keys to the next purge); bytes are
// served decrypted from the blob store, never copied in clear to disk. A Team account's request is
// refused (400), as is a request less than 7 days after the account's last one that did not fail
// (429, with Retry-After).
package dataexports

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/domain/chime/attachment"
	"github.com/belfry/belfry/domain/chime/retention"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// Sentinels.
var (
	// ErrThrottled is a request less than 7 days after the last one.
	ErrThrottled = &domain.Error{Kind: domain.KindThrottled, Msg: "an attachment export can be requested once every 7 days"}
	// ErrURL is a pre-signed URL that is expired, tampered with or not Belfry's.
	ErrURL = &domain.Error{Kind: domain.KindForbidden, Msg: "the pre-signed URL is not valid"}
)

// Accounts reads accounts and users (chimeaccounts.Store implements it).
type Accounts interface {
	Get(ctx context.Context, awsAccountID, id string) (chimeaccounts.Account, error)
	GetUser(ctx context.Context, awsAccountID, accountID, userID string) (chimeaccounts.User, error)
}

// Exports records export requests and their listings (infra/blobstore.Store implements it).
type Exports interface {
	StartExport(ctx context.Context, e attachment.Export, since time.Time) (attachment.Export, bool, error)
	Exports(ctx context.Context, accountID string, limit int) ([]attachment.Export, error)
	GetExport(ctx context.Context, exportID string) (attachment.Export, error)
	RunningExports(ctx context.Context) ([]attachment.Export, error)
	FinishExport(ctx context.Context, e attachment.Export) error
	WriteListing(exportID string, write func(w io.Writer) error) error
	OpenListing(exportID string) (io.ReadCloser, int64, error)
}

// Blobs reads attachments (infra/blobstore.Store implements it).
type Blobs interface {
	AccountAttachments(ctx context.Context, accountID, userID string, after *attachment.Stored, limit int) ([]attachment.Stored, error)
	Find(ctx context.Context, attachmentID string) (attachment.Stored, error)
	Meta(ctx context.Context, a attachment.Stored) (attachment.Meta, error)
	Open(ctx context.Context, a attachment.Stored) (io.ReadCloser, error)
}

// Rooms says which account each room that is not deleted belongs to (chimerooms.Store implements
// it): a deleted room's attachments are never exported, even while its keys outlive the deletion.
type Rooms interface {
	LiveRoomAccounts(ctx context.Context, roomIDs []string) (map[string]string, error)
}

// Retention says what retention hides (api/chime/retention.Service implements it).
type Retention interface {
	HideBefore(ctx context.Context, accountID string, c retention.Class) (time.Time, bool, error)
	ConversationHideBefore(ctx context.Context, accounts []string) (time.Time, bool, error)
}

// Conversations says whose members a conversation has (chimeconversations.Store implements it).
type Conversations interface {
	MemberAccounts(ctx context.Context, ids []string) (map[string][]string, error)
}

// Signer signs and checks URL payloads (infra/urlsign.Signer implements it).
type Signer interface {
	Sign(payload string) string
	Verify(payload, sig string) bool
}

// Deps are the slice's collaborators.
type Deps struct {
	Accounts      Accounts
	Exports       Exports
	Blobs         Blobs
	Rooms         Rooms
	Conversations Conversations
	Retention     Retention
	Signer        Signer
	// PublicURL is the base of the URLs handed out.
	PublicURL func() string
	Now       func() time.Time
	Logger    *slog.Logger
}

// Service runs the export use cases; Run produces the exports requested.
type Service struct {
	d    Deps
	wake chan struct{}
}

// New returns the slice.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &Service{d: d, wake: make(chan struct{}, 1)}
}

// Start records an export request of an account (userID "": every user) and wakes the producer.
func (s *Service) Start(ctx context.Context, awsAccountID, accountID, userID, by string) (attachment.Export, error) {
	a, err := s.d.Accounts.Get(ctx, awsAccountID, accountID)
	if err != nil {
		return attachment.Export{}, err
	}
	if a.AccountType == account.TypeTeam {
		return attachment.Export{}, domain.Wrapf(account.ErrWrongAccount, "attachment exports are available in Enterprise accounts; account %s is a Team "+
			"account (claim a domain to upgrade it, or remove the users so that they retrieve their own attachments)", accountID)
	}
	if userID != "" {
		if _, err := uuid.Parse(userID); err != nil {
			return attachment.Export{}, domain.Wrapf(account.ErrUserNotFound, "UserId %q is not a user of account %s", userID, accountID)
		}
		if _, err := s.d.Accounts.GetUser(ctx, awsAccountID, accountID, userID); err != nil {
			return attachment.Export{}, err
		}
	}
	now := s.d.Now().UTC()
	e, ok, err := s.d.Exports.StartExport(ctx, attachment.Export{AccountID: accountID, UserID: userID, RequestedBy: by, RequestedAt: now},
		now.Add(-attachment.ExportEvery))
	if err != nil {
		return attachment.Export{}, err
	}
	if !ok {
		next := e.RequestedAt.Add(attachment.ExportEvery)
		return attachment.Export{}, &domain.Error{Kind: domain.KindThrottled, Sentinel: ErrThrottled, RetryAfter: next.Sub(now),
			Msg: fmt.Sprintf("an attachment export can be requested once every 7 days: export %s was requested at %s; the next request is possible from %s",
				e.ExportID, e.RequestedAt.Format(time.RFC3339), next.Format(time.RFC3339))}
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return e, nil
}

// Retrieve returns an account's latest exports (at most 10), newest first.
func (s *Service) Retrieve(ctx context.Context, awsAccountID, accountID string) ([]attachment.Export, error) {
	if _, err := s.d.Accounts.Get(ctx, awsAccountID, accountID); err != nil {
		return nil, err
	}
	return s.d.Exports.Exports(ctx, accountID, 10)
}

// Run produces the Running exports — at once, whenever Start wakes it, and every minute (a restart
// resumes what a stop interrupted) — until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if err := s.ProduceAll(ctx); err != nil && ctx.Err() == nil {
			s.d.Logger.Warn("attachment exports: the next round retries", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-t.C:
		}
	}
}

// ProduceAll produces every Running export.
func (s *Service) ProduceAll(ctx context.Context) error {
	list, err := s.d.Exports.RunningExports(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range list {
		err := s.produce(ctx, e)
		if err != nil && ctx.Err() == nil && s.d.Now().Sub(e.RequestedAt) > GiveUpAfter {
			e.Status, e.Error = attachment.ExportFailed, "the export could not be produced within 24 hours; request it again"
			s.d.Logger.Error("attachment export failed", "export", e.ExportID, "err", err)
			err = s.d.Exports.FinishExport(ctx, e)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// GiveUpAfter is how long an export is retried before it is Failed (the guide's "about 24 hours");
// a failed export does not count against the account's once-every-7-days.
const GiveUpAfter = 24 * time.Hour

// produce writes an export's listing and marks it Ready (or Failed when the listing cannot be
// written; a transient database error leaves it Running for the next round).
func (s *Service) produce(ctx context.Context, e attachment.Export) error {
	e.ReadyAt = s.d.Now().UTC().Truncate(time.Second)
	e.ExpiresAt = e.ReadyAt.Add(attachment.URLTTL)
	n := 0
	err := s.d.Exports.WriteListing(e.ExportID, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		err := s.eachAttachment(ctx, e, func(a attachment.Stored) error {
			n++
			_, err := fmt.Fprintln(bw, s.attachmentURL(e, a.AttachmentID))
			return err
		})
		if err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("export %s: %w", e.ExportID, err)
	}
	e.Status, e.Attachments = attachment.ExportReady, n
	return s.d.Exports.FinishExport(ctx, e)
}

// exportPage bounds the attachments read at once.
const exportPage = 500

// eachAttachment calls fn with every live attachment the export covers, oldest first: uploaded by the
// account's users (or its one user) to conversations, or to the account's rooms, not hidden by
// retention (the account's room retention; a conversation's own), key not destroyed. One whose
// metadata does not open under its key (damaged) is logged and left out: it holds back no other.
func (s *Service) eachAttachment(ctx context.Context, e attachment.Export, fn func(attachment.Stored) error) error {
	hide, _, err := s.d.Retention.HideBefore(ctx, e.AccountID, retention.Rooms)
	if err != nil {
		return err
	}
	var after *attachment.Stored
	for {
		page, err := s.d.Blobs.AccountAttachments(ctx, e.AccountID, e.UserID, after, exportPage)
		if err != nil || len(page) == 0 {
			return err
		}
		var rooms []string
		for _, a := range page {
			if a.Container == "room" {
				rooms = append(rooms, a.ContainerID)
			}
		}
		owner, err := s.d.Rooms.LiveRoomAccounts(ctx, rooms)
		if err != nil {
			return err
		}
		convHide, err := s.conversationHides(ctx, page)
		if err != nil {
			return err
		}
		for _, a := range page {
			if a.Container == "room" && (owner[a.ContainerID] != e.AccountID || a.CreatedAt.Before(hide)) ||
				a.Container == "conversation" && a.CreatedAt.Before(convHide[a.ContainerID]) {
				continue
			}
			if _, err := s.d.Blobs.Meta(ctx, a); errors.Is(err, attachment.ErrGone) {
				continue
			} else if errors.Is(err, domain.ErrUnreadable) {
				// Damaged: it fails the same on every try, and no URL could serve it; the others go.
				s.d.Logger.Error("attachment export: an attachment does not open under its key and is left out", "export", e.ExportID,
					"attachment", a.AttachmentID, "err", err)
				continue
			} else if err != nil {
				return err
			}
			if err := fn(a); err != nil {
				return err
			}
		}
		if len(page) < exportPage {
			return nil
		}
		after = &page[len(page)-1]
	}
}

// conversationHides returns, for the conversations of the attachments, the instant before which
// their retention hides them (absent: nothing hidden).
func (s *Service) conversationHides(ctx context.Context, list []attachment.Stored) (map[string]time.Time, error) {
	var ids []string
	for _, a := range list {
		if a.Container == "conversation" {
			ids = append(ids, a.ContainerID)
		}
	}
	out := map[string]time.Time{}
	if len(ids) == 0 {
		return out, nil
	}
	members, err := s.d.Conversations.MemberAccounts(ctx, ids)
	if err != nil {
		return nil, err
	}
	for id, accounts := range members {
		before, ok, err := s.d.Retention.ConversationHideBefore(ctx, accounts)
		if err != nil {
			return nil, err
		}
		if ok {
			out[id] = before
		}
	}
	return out, nil
}

// Payloads signed: what a URL names and its expiry (Unix seconds).
func listingPayload(exportID string, expires int64) string {
	return "chime-export-listing\n" + exportID + "\n" + strconv.FormatInt(expires, 10)
}

func attachmentPayload(exportID, attachmentID string, expires int64) string {
	return "chime-export-attachment\n" + exportID + "\n" + attachmentID + "\n" + strconv.FormatInt(expires, 10)
}

func (s *Service) signed(path, payload string, expires int64) string {
	q := url.Values{"Expires": {strconv.FormatInt(expires, 10)}, "Signature": {s.d.Signer.Sign(payload)}}
	return s.d.PublicURL() + path + "?" + q.Encode()
}

func (s *Service) attachmentURL(e attachment.Export, attachmentID string) string {
	exp := e.ExpiresAt.Unix()
	return s.signed("/exports/v1/"+e.ExportID+"/attachments/"+attachmentID, attachmentPayload(e.ExportID, attachmentID, exp), exp)
}

// ListingURL is the pre-signed link to a Ready export's listing file ("" otherwise).
func (s *Service) ListingURL(e attachment.Export) string {
	if e.Status != attachment.ExportReady {
		return ""
	}
	exp := e.ExpiresAt.Unix()
	return s.signed("/exports/v1/"+e.ExportID+"/attachments.txt", listingPayload(e.ExportID, exp), exp)
}

// check verifies a URL's signature over payload, then that its expiry is its export's and not past.
func (s *Service) check(ctx context.Context, exportID, payload, expires, sig string) (attachment.Export, error) {
	if sig == "" || !s.d.Signer.Verify(payload, sig) {
		return attachment.Export{}, domain.Wrapf(ErrURL, "the signature does not match the URL")
	}
	e, err := s.d.Exports.GetExport(ctx, exportID)
	if err != nil {
		return attachment.Export{}, err
	}
	if e.Status != attachment.ExportReady || strconv.FormatInt(e.ExpiresAt.Unix(), 10) != expires {
		return attachment.Export{}, domain.Wrapf(ErrURL, "the URL is not one of data export %s", exportID)
	}
	if !s.d.Now().Before(e.ExpiresAt) {
		return attachment.Export{}, domain.Wrapf(ErrURL, "the URL expired at %s", e.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return e, nil
}

// Listing opens the listing file a pre-signed URL names.
func (s *Service) Listing(ctx context.Context, exportID, expires, sig string) (io.ReadCloser, int64, error) {
	exp, _ := strconv.ParseInt(expires, 10, 64)
	if _, err := s.check(ctx, exportID, listingPayload(exportID, exp), expires, sig); err != nil {
		return nil, 0, err
	}
	return s.d.Exports.OpenListing(exportID)
}

// Download opens the attachment a pre-signed URL names, with its name.
func (s *Service) Download(ctx context.Context, exportID, attachmentID, expires, sig string) (attachment.Stored, attachment.Meta, io.ReadCloser, error) {
	exp, _ := strconv.ParseInt(expires, 10, 64)
	e, err := s.check(ctx, exportID, attachmentPayload(exportID, attachmentID, exp), expires, sig)
	if err != nil {
		return attachment.Stored{}, attachment.Meta{}, nil, err
	}
	a, err := s.d.Blobs.Find(ctx, attachmentID)
	if err == nil && a.AccountID != e.AccountID {
		err = domain.Wrapf(attachment.ErrGone, "attachment %s does not exist", attachmentID)
	}
	if err == nil {
		err = s.hidden(ctx, e, a)
	}
	if err != nil {
		return attachment.Stored{}, attachment.Meta{}, nil, err
	}
	m, err := s.d.Blobs.Meta(ctx, a)
	if err != nil {
		return attachment.Stored{}, attachment.Meta{}, nil, err
	}
	r, err := s.d.Blobs.Open(ctx, a)
	return a, m, r, err
}

// hidden refuses (attachment.ErrGone) an attachment of the export that is in a room deleted since,
// or that its retention hides now.
func (s *Service) hidden(ctx context.Context, e attachment.Export, a attachment.Stored) error {
	var hide time.Time
	if a.Container == "room" {
		owner, err := s.d.Rooms.LiveRoomAccounts(ctx, []string{a.ContainerID})
		if err != nil {
			return err
		}
		if owner[a.ContainerID] != e.AccountID {
			return domain.Wrapf(attachment.ErrGone, "attachment %s is in a deleted room", a.AttachmentID)
		}
		if hide, _, err = s.d.Retention.HideBefore(ctx, e.AccountID, retention.Rooms); err != nil {
			return err
		}
	} else {
		hides, err := s.conversationHides(ctx, []attachment.Stored{a})
		if err != nil {
			return err
		}
		hide = hides[a.ContainerID]
	}
	if a.CreatedAt.Before(hide) {
		return domain.Wrapf(attachment.ErrGone, "attachment %s is past its retention", a.AttachmentID)
	}
	return nil
}
