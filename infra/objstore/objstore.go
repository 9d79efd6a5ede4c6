// Package objstore is where Belfry writes objects that leave it (the CloudTrail-format trail; reports as
// they are built): a directory laid out by key (DirTarget) or an S3-compatible bucket through the AWS SDK's S3
// client (S3Target), behind one small Target interface.
package objstore

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// ErrNotFound is returned by Target.Get for a key that holds nothing.
var ErrNotFound = errors.New("objstore: no such key")

// ErrBadMetadata is returned by DirTarget.Get, with the object, for an object whose metadata file
// does not hold a JSON object of strings.
var ErrBadMetadata = errors.New("objstore: unreadable metadata")

// Target is where a trail's files go: a directory or a bucket.
type Target interface {
	// Bucket is the bucket name recorded in digests (digestS3Bucket, logFiles.s3Bucket).
	Bucket() string
	// String names the target in messages.
	String() string
	// Same reports whether key already holds exactly body and meta.
	Same(ctx context.Context, key string, body []byte, meta map[string]string) (bool, error)
	Put(ctx context.Context, key string, body []byte, meta map[string]string) error
	// Get returns the object and its user metadata, or ErrNotFound (a DirTarget: or the object and
	// ErrBadMetadata).
	Get(ctx context.Context, key string) ([]byte, map[string]string, error)
	// List calls fn with every key under prefix, in lexical order.
	List(ctx context.Context, prefix string, fn func(key string) error) error
}

// metadataSuffix names a directory target's sidecar holding an object's metadata.
const metadataSuffix = ".metadata.json"

// DirTarget writes files under Dir, at their keys. Name is the bucket name recorded in digests (an
// auditor who copies the directory into a bucket of that name can validate it with CloudTrail's own
// tools); object metadata (the digest signature) goes to a sidecar <key>.metadata.json.
type DirTarget struct {
	Dir  string
	Name string
}

// Bucket implements Target.
func (d DirTarget) Bucket() string { return d.Name }

func (d DirTarget) String() string { return d.Dir }

// ErrKeyOutside is a key that would not name a file inside the directory (a ".." component that
// leaves it, an empty key or the directory itself; a leading "/" is under the directory): S3 takes
// such a key literally, a directory would not.
var ErrKeyOutside = errors.New("objstore: the key leaves the target directory")

// path is key's file under the directory; a key that would leave it is ErrKeyOutside.
func (d DirTarget) path(key string) (string, error) {
	k := strings.TrimLeft(filepath.FromSlash(key), string(filepath.Separator)) // under Dir, as filepath.Join takes it
	if !filepath.IsLocal(k) || filepath.Clean(k) == "." {
		return "", fmt.Errorf("%w: %q", ErrKeyOutside, key)
	}
	return filepath.Join(d.Dir, k), nil
}

// Same implements Target.
func (d DirTarget) Same(_ context.Context, key string, body []byte, meta map[string]string) (bool, error) {
	p, err := d.path(key)
	if err != nil {
		return false, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !bytes.Equal(b, body)) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("objstore: %w", err)
	}
	if len(meta) == 0 {
		return true, nil
	}
	got, err := d.meta(key)
	if err != nil || len(got) != len(meta) {
		return false, nil
	}
	for k, v := range meta {
		if got[k] != v {
			return false, nil
		}
	}
	return true, nil
}

// Put implements Target: the metadata first, then the file, each written whole (writeFile).
func (d DirTarget) Put(_ context.Context, key string, body []byte, meta map[string]string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("objstore: write %s: %w", p, err)
	}
	if len(meta) > 0 {
		mb, _ := json.Marshal(meta) // a map of strings always encodes
		if err := writeFile(p+metadataSuffix, mb); err != nil {
			return err
		}
	}
	return writeFile(p, body)
}

// writeFile writes p whole, so that a reader sees the old content or the new, never part of it:
// where the system can (writeNew), a file without a name linked in as p once written — one
// directory entry made per file, where the temporary file and its rename make two, each taking the
// directory's lock that concurrent writers of a day's directory share; otherwise, and over a file
// that exists, renameFile.
func writeFile(p string, b []byte) error {
	if done, err := writeNew(p, b); done {
		return err
	}
	return renameFile(p, b)
}

// renameFile writes p into a new temporary file beside it (created 0644, so no chmod), then renames
// it over p. The temporary file is removed only when something failed.
func renameFile(p string, b []byte) error {
	tmp, err := os.OpenFile(filepath.Join(filepath.Dir(p), ".part-"+rand.Text()), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("objstore: write %s: %w", p, err)
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("objstore: write %s: %w", p, err)
	}
	return nil
}

func (d DirTarget) meta(key string) (map[string]string, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p + metadataSuffix)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("objstore: %w", err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w of %s: %w", ErrBadMetadata, key, err)
	}
	return m, nil
}

// Get implements Target.
func (d DirTarget) Get(_ context.Context, key string) ([]byte, map[string]string, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("objstore: %w", err)
	}
	m, err := d.meta(key)
	return b, m, err
}

// List implements Target.
func (d DirTarget) List(_ context.Context, prefix string, fn func(string) error) error {
	var keys []string
	err := filepath.WalkDir(d.Dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, err := filepath.Rel(d.Dir, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if strings.HasPrefix(key, prefix) && !strings.HasSuffix(key, metadataSuffix) && !strings.HasPrefix(e.Name(), ".") {
			keys = append(keys, key)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("objstore: list %s: %w", d.Dir, err)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := fn(k); err != nil {
			return err
		}
	}
	return nil
}

// S3Config names a bucket of an S3-compatible store.
type S3Config struct {
	Bucket   string
	Endpoint string // e.g. http://127.0.0.1:9000; empty: AWS S3 (path-style addressing is used when set)
	Region   string
	// AccessKeyID and SecretAccessKey (and SessionToken) sign the requests; without them requests are
	// anonymous.
	AccessKeyID, SecretAccessKey, SessionToken string
}

// S3Target writes to a bucket through the AWS SDK's S3 client.
type S3Target struct {
	client   *s3.Client
	bucket   string
	endpoint string
}

// NewS3Target returns a target for c.
func NewS3Target(c S3Config) *S3Target {
	o := s3.Options{
		Region:                     c.Region,
		UsePathStyle:               c.Endpoint != "",
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		Credentials:                aws.AnonymousCredentials{},
	}
	if c.Endpoint != "" {
		o.BaseEndpoint = aws.String(c.Endpoint)
	}
	if c.AccessKeyID != "" {
		o.Credentials = credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
	}
	return &S3Target{client: s3.New(o), bucket: c.Bucket, endpoint: c.Endpoint}
}

// Bucket implements Target.
func (t *S3Target) Bucket() string { return t.bucket }

// String names the bucket and, on an S3-compatible service, the service: s3://bucket for AWS S3,
// s3://bucket@http://host:port otherwise, so that two services' buckets of one name are told apart
// (the Wickr archive keys its progress by it).
func (t *S3Target) String() string {
	if t.endpoint == "" {
		return "s3://" + t.bucket
	}
	return "s3://" + t.bucket + "@" + t.endpoint
}

// Same implements Target: the object's ETag (the MD5 of a single-part upload) and metadata match.
func (t *S3Target) Same(ctx context.Context, key string, body []byte, meta map[string]string) (bool, error) {
	h, err := t.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &t.bucket, Key: &key})
	if err != nil {
		if notFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("objstore: head s3://%s/%s: %w", t.bucket, key, err)
	}
	sum := md5.Sum(body)
	if strings.Trim(aws.ToString(h.ETag), `"`) != hex.EncodeToString(sum[:]) {
		return false, nil
	}
	for k, v := range meta {
		if h.Metadata[k] != v {
			return false, nil
		}
	}
	return true, nil
}

// Put implements Target; meta becomes the object's x-amz-meta-* metadata. A key ending in .csv is
// text/csv, any other application/json.
func (t *S3Target) Put(ctx context.Context, key string, body []byte, meta map[string]string) error {
	ct := "application/json"
	if strings.HasSuffix(key, ".csv") {
		ct = "text/csv; charset=utf-8"
	}
	_, err := t.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &t.bucket, Key: &key, Body: bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))), ContentType: aws.String(ct), Metadata: meta})
	if err != nil {
		return fmt.Errorf("objstore: write s3://%s/%s: %w", t.bucket, key, err)
	}
	return nil
}

// Get implements Target.
func (t *S3Target) Get(ctx context.Context, key string) ([]byte, map[string]string, error) {
	out, err := t.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &t.bucket, Key: &key})
	if err != nil {
		if notFound(err) {
			return nil, nil, fmt.Errorf("s3://%s/%s: %w", t.bucket, key, ErrNotFound)
		}
		return nil, nil, fmt.Errorf("objstore: read s3://%s/%s: %w", t.bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("objstore: read s3://%s/%s: %w", t.bucket, key, err)
	}
	return b, out.Metadata, nil
}

// List implements Target.
func (t *S3Target) List(ctx context.Context, prefix string, fn func(string) error) error {
	p := s3.NewListObjectsV2Paginator(t.client, &s3.ListObjectsV2Input{Bucket: &t.bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("objstore: list s3://%s/%s: %w", t.bucket, prefix, err)
		}
		for _, o := range page.Contents {
			if err := fn(aws.ToString(o.Key)); err != nil {
				return err
			}
		}
	}
	return nil
}

func notFound(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return true
		}
	}
	return false
}

// Streamer is a Target that also writes an object from a reader of size bytes without holding it in
// memory (Wickr archive files; DirTarget and S3Target implement it).
type Streamer interface {
	PutStream(ctx context.Context, key string, r io.Reader, size int64) error
}

// PutStream implements Streamer: the file written whole (temporary file, fsync, rename); a reader
// that does not give exactly size bytes writes nothing.
func (d DirTarget) PutStream(_ context.Context, key string, r io.Reader, size int64) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("objstore: write %s: %w", p, err)
	}
	tmp, err := spool(filepath.Dir(p), r, size)
	if err != nil {
		return fmt.Errorf("objstore: write %s: %w", p, err)
	}
	defer os.Remove(tmp.Name())
	err = tmp.Close()
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		return fmt.Errorf("objstore: write %s: %w", p, err)
	}
	return nil
}

// spool copies exactly size bytes of r into a new temporary file of dir ("": the system's), synced.
func spool(dir string, r io.Reader, size int64) (*os.File, error) {
	tmp, err := os.CreateTemp(dir, ".part-*")
	if err != nil {
		return nil, err
	}
	n, err := io.Copy(tmp, io.LimitReader(r, size+1))
	if err == nil && n != size {
		err = fmt.Errorf("the object is %d bytes, not %d", n, size)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	return tmp, nil
}

// PutStream implements Streamer: the body is spooled to a temporary file (removed once sent, like the
// Wickr bot's files once stored), so that the request is seekable and signed with its length.
func (t *S3Target) PutStream(ctx context.Context, key string, r io.Reader, size int64) error {
	tmp, err := spool("", r, size)
	if err != nil {
		return fmt.Errorf("objstore: write s3://%s/%s: %w", t.bucket, key, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("objstore: write s3://%s/%s: %w", t.bucket, key, err)
	}
	_, err = t.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &t.bucket, Key: &key, Body: tmp, ContentLength: aws.Int64(size),
		ContentType: aws.String("application/octet-stream")})
	if err != nil {
		return fmt.Errorf("objstore: write s3://%s/%s: %w", t.bucket, key, err)
	}
	return nil
}
