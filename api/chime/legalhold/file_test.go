package legalhold_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/belfry/belfry/api/chime/legalhold"
)

// unknown is an accounts read model that knows no account.
type unknown struct{ plain }

func (unknown) AccountKnown(context.Context, string) (bool, error) { return false, nil }

// strangers is an accounts read model whose accounts have no user: every user id is another
// account's, or none.
type strangers struct{ plain }

func (strangers) UserKnown(context.Context, string, string) (bool, error) { return false, nil }

func exportQuery() legalhold.Query {
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	return legalhold.Query{AccountID: "a", From: t0, To: t0.Add(time.Hour)}
}

// TestExportFileRefusesAFileThatIsNotAnExport: --out naming a file that holds something else than
// this export's header (here one line without a newline, which is no cut-short header of it) is
// refused and left as it was, not truncated and overwritten.
func TestExportFileRefusesAFileThatIsNotAnExport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	precious := []byte("the only copy of something precious")
	if err := os.WriteFile(path, precious, 0o600); err != nil {
		t.Fatal(err)
	}
	src := source{}
	x := legalhold.New(legalhold.Deps{Rooms: rooms{src}, Conversations: convs{src}, Accounts: plain{}, Keys: plain{}, Attachments: plain{}})
	_, _, err := x.ExportFile(context.Background(), exportQuery(), path, nil)
	if !errors.Is(err, legalhold.ErrInvalid) {
		t.Fatalf("an export into a file that is not one: %v", err)
	}
	if got, _ := os.ReadFile(path); string(got) != string(precious) {
		t.Fatalf("the file was changed: %q", got)
	}
}

// TestExportFileOfAnUnknownAccountWritesNothing: an export refused for its --account creates no
// file.
func TestExportFileOfAnUnknownAccountWritesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "export.jsonl")
	src := source{}
	x := legalhold.New(legalhold.Deps{Rooms: rooms{src}, Conversations: convs{src}, Accounts: unknown{}, Keys: plain{}, Attachments: plain{}})
	_, _, err := x.ExportFile(context.Background(), exportQuery(), path, nil)
	if !errors.Is(err, legalhold.ErrInvalid) {
		t.Fatalf("an export of an unknown account: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the refused export left a file: %v", err)
	}
}

// TestExportFileOfAnotherAccountsUserWritesNothing: --user must name a user of --account. A user of
// another account (a typo, a pasted id) would otherwise give a file whose header names --account and
// whose lines are another account's messages — or, for an id that is no one's, an empty export that
// looks complete; it is refused and creates no file.
func TestExportFileOfAnotherAccountsUserWritesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "export.jsonl")
	src := source{}
	x := legalhold.New(legalhold.Deps{Rooms: rooms{src}, Conversations: convs{src}, Accounts: strangers{}, Keys: plain{}, Attachments: plain{}})
	q := exportQuery()
	q.UserID = "user-of-another-account"
	_, _, err := x.ExportFile(context.Background(), q, path, nil)
	if !errors.Is(err, legalhold.ErrInvalid) {
		t.Fatalf("an export of another account's user: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the refused export left a file: %v", err)
	}
}
