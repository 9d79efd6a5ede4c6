package cloudtrail

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/infra/objstore"
)

var (
	fuzzSignerOnce sync.Once
	fuzzSigner     *Signer
)

func testSigner(t testing.TB) *Signer {
	fuzzSignerOnce.Do(func() {
		s, err := LoadOrCreateSigner(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		fuzzSigner = s
	})
	return fuzzSigner
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

const (
	testLogKey    = "AWSLogs/123456789012/CloudTrail/us-east-1/2025/03/14/123456789012_CloudTrail_us-east-1_20250314T0900Z_AAAAAAAAAAAAAAAA.json.gz"
	testDigestKey = "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2025/03/14/123456789012_CloudTrail-Digest_us-east-1_belfry_us-east-1_20250314T100000Z.json.gz"
	testNextKey   = "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2025/03/14/123456789012_CloudTrail-Digest_us-east-1_belfry_us-east-1_20250314T110000Z.json.gz"
)

// writeTestTrail writes a trail of one log file (content) and two chained digests, signed by s, to
// tgt; the first digest's content is raw when raw is not nil (signed all the same).
func writeTestTrail(t testing.TB, tgt objstore.DirTarget, s *Signer, content, raw []byte) {
	ctx := context.Background()
	end := time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)
	d := Digest{AWSAccountID: "123456789012", DigestStartTime: end.Add(-time.Hour).Format(timeFormat), DigestEndTime: end.Format(timeFormat),
		DigestS3Bucket: tgt.Bucket(), DigestS3Object: testDigestKey, DigestPublicKeyFingerprint: Fingerprint(s.Public()),
		DigestSignatureAlgorithm: SignatureAlgorithm, LogFiles: []LogFile{{S3Bucket: tgt.Bucket(), S3Object: testLogKey,
			HashValue: sha256Hex(content), HashAlgorithm: HashAlgorithm}}}
	first, _ := json.Marshal(d)
	if raw != nil {
		first = raw
	}
	sig, err := s.sign(stringToSign(end, tgt.Bucket(), testDigestKey, first, ""))
	if err != nil {
		t.Fatal(err)
	}
	prevSum, alg, bucket, key := sha256Hex(first), HashAlgorithm, tgt.Bucket(), testDigestKey
	next := Digest{AWSAccountID: "123456789012", DigestStartTime: end.Format(timeFormat), DigestEndTime: end.Add(time.Hour).Format(timeFormat),
		DigestS3Bucket: tgt.Bucket(), DigestS3Object: testNextKey, DigestPublicKeyFingerprint: Fingerprint(s.Public()),
		DigestSignatureAlgorithm: SignatureAlgorithm, PreviousDigestS3Bucket: &bucket, PreviousDigestS3Object: &key,
		PreviousDigestHashValue: &prevSum, PreviousDigestHashAlgorithm: &alg, PreviousDigestSignature: &sig}
	second, _ := json.Marshal(next)
	sig2, err := s.sign(stringToSign(end.Add(time.Hour), tgt.Bucket(), testNextKey, second, sig))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []struct {
		key  string
		body []byte
		meta map[string]string
	}{{testLogKey, gz(content), nil}, {testDigestKey, gz(first), map[string]string{MetaSignature: sig, MetaSignatureAlgorithm: SignatureAlgorithm}},
		{testNextKey, gz(second), map[string]string{MetaSignature: sig2, MetaSignatureAlgorithm: SignatureAlgorithm}}} {
		if err := tgt.Put(ctx, o.key, o.body, o.meta); err != nil {
			t.Fatal(err)
		}
	}
}

// gzipBomb is a gzip file of n members, each inflating to 1 MiB of zeros (readers go on to the next
// member, as gzip.Reader does by default).
func gzipBomb(n int) []byte {
	var one bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&one, gzip.BestCompression)
	_, _ = zw.Write(make([]byte, 1<<20))
	_ = zw.Close()
	return bytes.Repeat(one.Bytes(), n)
}

// TestVerifyBoundsWhatItInflates replaces a digest and a log file of a trail with small gzip files
// that inflate to 256 MiB each (the fix's test allocated 1 GiB before): Verify names both without holding either in memory.
func TestVerifyBoundsWhatItInflates(t *testing.T) {
	tgt := objstore.DirTarget{Dir: t.TempDir(), Name: "audit-bucket"}
	s := testSigner(t)
	writeTestTrail(t, tgt, s, []byte(`{"Records":[]}`), nil)
	if res, err := Verify(context.Background(), tgt, "", s.Public()); err != nil || !res.OK() || res.LogFiles != 1 || res.Digests != 2 {
		t.Fatalf("the untouched trail: %+v %v", res, err)
	}
	bomb := gzipBomb(256)
	for _, k := range []string{testLogKey, testDigestKey} {
		if err := os.WriteFile(filepath.Join(tgt.Dir, filepath.FromSlash(k)), bomb, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// the log file is checked through an untouched digest that lists it
	other := objstore.DirTarget{Dir: t.TempDir(), Name: "audit-bucket"}
	writeTestTrail(t, other, s, []byte(`{"Records":[]}`), nil)
	if err := os.WriteFile(filepath.Join(other.Dir, filepath.FromSlash(testLogKey)), bomb, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tg := range []objstore.DirTarget{tgt, other} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		res, err := Verify(context.Background(), tg, "", s.Public())
		runtime.ReadMemStats(&after)
		if err != nil || res.OK() {
			t.Fatalf("a 256 MiB file must be named: %+v %v", res, err)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 160<<20 { // the limit of a digest, its buffer's growth, -race
			t.Fatalf("verifying allocated %d MiB for files of %d KiB: %s", grew>>20, len(bomb)>>10, strings.Join(res.Problems, "; "))
		}
	}
}

// FuzzVerifyTrail verifies a trail of one log file and two chained digests after one change: the log
// file's content (op 1), the first digest's content, signed all the same (2), the stored first
// digest, log file or second digest replaced by raw bytes (3, 4, 5), the first digest's metadata
// replaced (6). Verify must never panic, nor stop at a file instead of naming it; the untouched
// trail, and one whose log file holds anything the digest lists, must verify.
func FuzzVerifyTrail(f *testing.F) {
	for op := range uint8(7) {
		f.Add(op, []byte(`{"Records":[]}`))
	}
	f.Add(uint8(2), []byte(`{"digestEndTime":"2025-03-14T10:00:00Z","digestS3Object":"x","logFiles":[{"s3Object":"../../../etc/passwd"}]}`))
	f.Add(uint8(3), gz([]byte(`{"digestEndTime":"x","digestS3Object":"y"}`)))
	f.Add(uint8(6), []byte(`{"signature":"zz","signature-algorithm":"SHA256withRSA"}`))
	f.Add(uint8(6), []byte(`not json`))
	f.Fuzz(func(t *testing.T, op uint8, payload []byte) {
		op %= 7
		tgt := objstore.DirTarget{Dir: t.TempDir(), Name: "audit-bucket"}
		s := testSigner(t)
		content, raw := []byte(`{"Records":[]}`), []byte(nil)
		switch op {
		case 1:
			content = payload
		case 2:
			raw = payload
		}
		writeTestTrail(t, tgt, s, content, raw)
		file := map[uint8]string{3: testDigestKey, 4: testLogKey, 5: testNextKey, 6: testDigestKey + ".metadata.json"}[op]
		if file != "" {
			if err := os.WriteFile(filepath.Join(tgt.Dir, filepath.FromSlash(file)), payload, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		res, err := Verify(context.Background(), tgt, "", s.Public())
		if err != nil {
			t.Fatalf("op %d: Verify stopped instead of naming the file: %v", op, err)
		}
		if op <= 1 && !res.OK() {
			t.Fatalf("op %d: %+v", op, res)
		}
	})
}

// TestVerifyShowsProgress: a verification reports its progress about every 1,000 files checked.
func TestVerifyShowsProgress(t *testing.T) {
	tgt := objstore.DirTarget{Dir: t.TempDir(), Name: "audit-bucket"}
	s := testSigner(t)
	content := []byte(`{"Records":[]}`)
	d := Digest{AWSAccountID: "123456789012", DigestStartTime: "2025-03-14T09:00:00Z", DigestEndTime: "2025-03-14T10:00:00Z",
		DigestS3Bucket: tgt.Bucket(), DigestS3Object: testDigestKey, DigestPublicKeyFingerprint: Fingerprint(s.Public()), DigestSignatureAlgorithm: SignatureAlgorithm}
	for range 2500 {
		d.LogFiles = append(d.LogFiles, LogFile{S3Bucket: tgt.Bucket(), S3Object: testLogKey, HashValue: sha256Hex(content), HashAlgorithm: HashAlgorithm})
	}
	raw, _ := json.Marshal(d)
	writeTestTrail(t, tgt, s, content, raw)
	var seen []int
	res, err := VerifyProgress(context.Background(), tgt, "", s.Public(), func(r Result) { seen = append(seen, r.Digests+r.LogFiles) })
	if err != nil || !res.OK() || res.LogFiles != 2500 {
		t.Fatalf("%+v %v", res, err)
	}
	if len(seen) != 2 || seen[0] != 1000 || seen[1] != 2000 {
		t.Fatalf("progress: %v", seen)
	}
}
