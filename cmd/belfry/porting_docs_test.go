package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/belfry/belfry/domain/chime/porting"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/portdocs"
)

func sha256Hex(b string) string {
	s := sha256.Sum256([]byte(b))
	return hex.EncodeToString(s[:])
}

// uploadedDigests reads the order's stream through EventStore-Client-Go: name → SHA-256 of every
// DocumentUploaded event.
func uploadedDigests(t *testing.T, client *esdb.Client, id string) map[string]string {
	t.Helper()
	rs, err := client.ReadStream(context.Background(), porting.StreamName(id), esdb.ReadStreamOptions{From: esdb.Start{}}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	out := map[string]string{}
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if e, err := porting.Decode(ev.Event.EventType, ev.Event.Data); err == nil {
			if d, ok := e.(porting.DocumentUploaded); ok {
				out[d.Name] = d.SHA256
			}
		}
	}
}

// TestPortingDocumentsAreContentAddressedBlobs: the bytes of an upload are stored, keyed by their
// SHA-256, before the event that names them; a refused upload stores nothing; the same bytes are
// stored once; a blob left by a crash between the two writes (no event names it) is collected, while a
// referenced blob whose mark was lost is kept.
func TestPortingDocumentsAreContentAddressedBlobs(t *testing.T) {
	t.Parallel()
	b := startBelfry(t)
	ctx := context.Background()
	pool := pgxPool(t, b)
	client, err := eventstore.Connect(b.m.EmbeddedLogURL())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	req := `{"ProductType":"BusinessCalling","PhoneNumbers":["+14255550100"],"BillingTelephoneNumber":"+14255550100",
		"AuthorizingPerson":"Mary Major","ServiceAddress":"1 Main St, Seattle WA","CustomerName":"Example Corp","PortDate":"2026-12-01T15:00:00Z"}`
	st, typ, out := b.consoleJSON(t, "POST", "/console/port-in-orders", req)
	if st != 201 {
		t.Fatalf("submit: %d %s %v", st, typ, out)
	}
	id := out["PortInOrder"].(map[string]any)["PortInOrderId"].(string)
	_, _, out = b.consoleJSON(t, "POST", "/console/port-in-orders/"+id+"?operation=request-documents", ``)
	token := out["UploadToken"].(string)
	blobs := func() (n int) {
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM porting.document_blobs`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	const loa = "%PDF-1.4 letter of agency"
	if st, _, _ := b.consoleJSON(t, "PUT", "/console/port-in-orders/"+id+"/documents/loa.pdf?token=wrong", loa); st != 403 {
		t.Fatalf("upload with a wrong token: %d", st)
	}
	if st, _, _ := b.consoleJSON(t, "PUT", "/console/port-in-orders/"+id+"/documents/a%5Cb?token="+token, loa); st != 400 {
		t.Fatalf("upload with a bad name: %d", st)
	}
	if n := blobs(); n != 0 {
		t.Fatalf("refused uploads stored %d blobs", n)
	}
	for _, name := range []string{"loa.pdf", "loa-copy.pdf"} {
		if st, typ, _ := b.consoleJSON(t, "PUT", "/console/port-in-orders/"+id+"/documents/"+name+"?token="+token, loa); st != 204 {
			t.Fatalf("upload %s: %d %s", name, st, typ)
		}
	}
	var sum string
	var ref bool
	var orders []string
	if err := pool.QueryRow(ctx, `SELECT sha256, referenced, order_ids FROM porting.document_blobs WHERE content = $1`, []byte(loa)).
		Scan(&sum, &ref, &orders); err != nil {
		t.Fatal(err)
	}
	if n := blobs(); n != 1 || sum != sha256Hex(loa) || !ref || len(orders) != 1 || orders[0] != id {
		t.Fatalf("want one referenced blob keyed by the content's SHA-256: n=%d sha=%s referenced=%v orders=%v", n, sum, ref, orders)
	}
	if got := uploadedDigests(t, client, id); got["loa.pdf"] != sum || got["loa-copy.pdf"] != sum {
		t.Fatalf("the events should name the blob: %v", got)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO porting.document_blobs (sha256, content, order_ids) VALUES ($1, $2, '{x}')`,
		sha256Hex("forged"), []byte("not forged")); err == nil {
		t.Fatal("a blob whose key is not its content's SHA-256 must be refused")
	}

	// A crash between the two writes leaves a blob no event names; a crash after the append leaves a
	// referenced blob unmarked. The collector deletes the first and keeps (and marks) the second.
	const orphan = "%PDF-1.4 never acknowledged"
	if _, err := pool.Exec(ctx, `INSERT INTO porting.document_blobs (sha256, content, order_ids) VALUES ($1, $2, ARRAY[$3])`,
		sha256Hex(orphan), []byte(orphan), id); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE porting.document_blobs SET referenced = false WHERE sha256 = $1`, sum); err != nil {
		t.Fatal(err)
	}
	n, err := portdocs.New(pool, client).Collect(ctx, 0)
	if err != nil || n != 1 {
		t.Fatalf("collect: deleted %d, %v; want the orphan only", n, err)
	}
	if err := pool.QueryRow(ctx, `SELECT referenced FROM porting.document_blobs WHERE sha256 = $1`, sum).Scan(&ref); err != nil || !ref {
		t.Fatalf("the referenced blob should be kept and marked: %v %v", ref, err)
	}
	if n := blobs(); n != 1 {
		t.Fatalf("%d blobs left, want 1", n)
	}
}
