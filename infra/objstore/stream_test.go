package objstore_test

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/belfry/belfry/infra/objstore"
)

// TestPutStream: a directory and a bucket (gofakes3, through the SDK) take an object from a reader,
// byte for byte; a reader shorter or longer than the size it was given writes nothing.
func TestPutStream(t *testing.T) {
	ctx := context.Background()
	backend := s3mem.New()
	if err := backend.CreateBucket("archive"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer srv.Close()
	body := bytes.Repeat([]byte("streamed object bytes\n"), 10_000)
	for name, tgt := range map[string]objstore.Target{
		"dir": objstore.DirTarget{Dir: t.TempDir(), Name: "archive"},
		"s3":  objstore.NewS3Target(objstore.S3Config{Bucket: "archive", Endpoint: srv.URL, Region: "us-east-1", AccessKeyID: "k", SecretAccessKey: "s"}),
	} {
		st := tgt.(objstore.Streamer)
		if err := st.PutStream(ctx, "n1/attachments/m1/notes.txt", bytes.NewReader(body), int64(len(body))); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, _, err := tgt.Get(ctx, "n1/attachments/m1/notes.txt"); err != nil || !bytes.Equal(got, body) {
			t.Fatalf("%s: read back %d bytes, %v", name, len(got), err)
		}
		for _, size := range []int64{int64(len(body)) + 1, int64(len(body)) - 1} {
			if err := st.PutStream(ctx, "n1/attachments/m2/x.txt", bytes.NewReader(body), size); err == nil {
				t.Fatalf("%s: a reader of %d bytes taken as %d", name, len(body), size)
			}
		}
		if _, _, err := tgt.Get(ctx, "n1/attachments/m2/x.txt"); !errors.Is(err, objstore.ErrNotFound) {
			t.Fatalf("%s: a refused object was written: %v", name, err)
		}
	}
}
