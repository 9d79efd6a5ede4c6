package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/google/uuid"

	"github.com/belfry/belfry/domain/chime/account"
	"github.com/belfry/belfry/infra/eventstore"
)

// TestCleanStopSnapshotsTheAccountAtItsHead: a clean stop of `belfry serve` writes the snapshot of an
// account that moved past its last snapshot, at the account's last event, so that a clean restart
// folds nothing after it; the restarted server answers from it.
func TestCleanStopSnapshotsTheAccountAtItsHead(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	ctx := context.Background()
	a, err := b.client.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Large")})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(a.Account.AccountId)
	stream := account.StreamName(id)
	client, err := eventstore.Connect(b.m.EmbeddedLogURL())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	// Enough users for the account to be snapshotted (eventstore.DefaultSnapshotEvery events).
	var evs []esdb.EventData
	for i := range eventstore.DefaultSnapshotEvery {
		e := account.UserAdded{UserID: uuid.NewString(), Email: fmt.Sprintf("user%04d@large.example.com", i),
			UserType: account.UserTypePrivate, LicenseType: account.LicensePro, CreatedAt: time.Now().UTC()}
		data, _ := json.Marshal(e)
		evs = append(evs, esdb.EventData{EventID: uuid.New(), EventType: e.EventType(), ContentType: esdb.ContentTypeJson, Data: data})
	}
	if _, err := client.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(0)}, evs...); err != nil {
		t.Fatal(err)
	}
	// The first command folds the account (and snapshots it in the background); the second leaves
	// an event after that snapshot.
	for _, name := range []string{"Large 2", "Large 3"} {
		if _, err := b.client.UpdateAccount(ctx, &chime.UpdateAccountInput{AccountId: aws.String(id), Name: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	head := func() int64 {
		rs, err := client.ReadStream(ctx, stream, esdb.ReadStreamOptions{From: esdb.End{}, Direction: esdb.Backwards}, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		last, err := rs.Recv()
		if err != nil {
			t.Fatal(err)
		}
		return int64(last.Event.EventNumber)
	}()
	pool := pgxPool(t, b)
	snapRev := func() int64 {
		var rev int64
		if err := pool.QueryRow(ctx, `SELECT revision FROM eventstore.snapshots WHERE stream = $1`, stream).Scan(&rev); err != nil {
			t.Fatal(err)
		}
		return rev
	}
	client.Close()
	if err := b.m.Close(); err != nil {
		t.Fatal(err)
	}
	if got := snapRev(); got != head {
		t.Fatalf("after a clean stop the snapshot is at revision %d, the account's last event at %d", got, head)
	}
	again := NewMain(b.m.cfg)
	again.Out = io.Discard
	if err := again.Run(ctx); err != nil {
		_ = again.Close()
		t.Fatal(err)
	}
	defer again.Close()
	b.url = "http://" + again.HTTPAddr()
	got, err := b.sdk(b.keyID, b.secret, "us-east-1").GetAccount(ctx, &chime.GetAccountInput{AccountId: aws.String(id)})
	if err != nil || aws.ToString(got.Account.Name) != "Large 3" {
		t.Fatalf("after the restart: %+v %v", got, err)
	}
}
