package cloudtrail

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/belfry/belfry/infra/objstore"
	"path"
	"strings"
	"time"
)

// Result is what Verify found.
type Result struct {
	Digests, LogFiles int
	// Problems name each digest or log file that is invalid, missing, moved or not covered.
	Problems []string
	// Notes are not failures: log files no digest lists (a continuous delivery lists the files it
	// delivered since the last digest in the next one; anything else there was not written by the
	// trail), and chains that restart.
	Notes []string
}

// OK reports whether nothing was wrong.
func (r Result) OK() bool { return len(r.Problems) == 0 }

func (r *Result) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// Verify checks a trail on t as CloudTrail's validator does: each digest's signature (over
// CloudTrail's data-to-sign string, with the signature from the object's metadata) and its public key
// fingerprint, its location, the chain of digests per account and region (each links the previous
// one's key, hash and signature; a deleted digest breaks it), and the SHA-256 of every log file a
// digest lists. Log files that no digest lists are noted, as CloudTrail's validator ignores them.
func Verify(ctx context.Context, t objstore.Target, prefix string, pub *rsa.PublicKey) (Result, error) {
	return VerifyProgress(ctx, t, prefix, pub, nil)
}

// VerifyProgress is Verify calling progress, when set, about every 1,000 files (digests and log
// files) checked, with what it found so far.
func VerifyProgress(ctx context.Context, t objstore.Target, prefix string, pub *rsa.PublicKey, progress func(Result)) (Result, error) {
	var res Result
	chains := map[string][]string{} // account/region -> digest keys, in order
	var order []string
	var logs []string
	err := t.List(ctx, prefix, func(key string) error {
		switch {
		case !strings.HasSuffix(key, ".json.gz"):
		case strings.Contains(key, "/CloudTrail-Digest/"):
			id := chainID(key, "/CloudTrail-Digest/")
			if _, ok := chains[id]; !ok {
				order = append(order, id)
			}
			chains[id] = append(chains[id], key)
		case strings.Contains(key, "/CloudTrail/"):
			logs = append(logs, key)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	listed := map[string]bool{}
	for _, id := range order {
		v := chainVerifier{t: t, pub: pub, res: &res, listed: listed, progress: progress}
		for _, key := range chains[id] {
			if err := v.digest(ctx, key); err != nil {
				return res, err
			}
		}
	}
	for _, key := range logs {
		if !listed[key] {
			res.Notes = append(res.Notes, "Log file "+key+": listed in no digest (delivered after the last digest, or not written by the trail)")
		}
	}
	return res, nil
}

// chainID is "<account>/<region>" of a key whose path holds marker ("/CloudTrail/" or "/CloudTrail-Digest/").
func chainID(key, marker string) string {
	before, after, _ := strings.Cut(key, marker)
	region, _, _ := strings.Cut(after, "/")
	return path.Base(before) + "/" + region
}

// chainVerifier walks one chain of digests, oldest first.
type chainVerifier struct {
	t        objstore.Target
	pub      *rsa.PublicKey
	res      *Result
	listed   map[string]bool
	progress func(Result)
	prevKey  string // "" before the first digest
	prevSum  string
	prevSig  string
}

// counted reports progress every 1,000 files counted.
func (v *chainVerifier) counted() {
	if v.progress != nil && (v.res.Digests+v.res.LogFiles)%1000 == 0 {
		v.progress(*v.res)
	}
}

func (v *chainVerifier) digest(ctx context.Context, key string) error {
	v.res.Digests++
	v.counted()
	body, meta, err := v.t.Get(ctx, key)
	if errors.Is(err, objstore.ErrBadMetadata) {
		meta, err = nil, nil // named below: no signature in its metadata
	}
	if err != nil {
		return err
	}
	content, err := gunzip(body, maxDigestSize)
	var d Digest
	if err == nil {
		err = json.Unmarshal(content, &d)
	}
	if err != nil || d.DigestEndTime == "" || d.DigestS3Object == "" {
		v.res.problem("Digest file %s: INVALID: invalid format", key)
		v.prevKey = ""
		return nil
	}
	ok := v.check(key, content, meta, &d)
	v.link(key, &d)
	v.prevKey, v.prevSum, v.prevSig = key, sha256Hex(content), meta[MetaSignature]
	if ok {
		for _, lf := range d.LogFiles {
			v.logFile(ctx, lf)
		}
	}
	return nil
}

// check verifies the digest's place and signature.
func (v *chainVerifier) check(key string, content []byte, meta map[string]string, d *Digest) bool {
	switch {
	case d.DigestS3Object != key || (v.t.Bucket() != "" && d.DigestS3Bucket != v.t.Bucket()):
		v.res.problem("Digest file %s: INVALID: has been moved from its original location s3://%s/%s", key, d.DigestS3Bucket, d.DigestS3Object)
	case d.DigestPublicKeyFingerprint != Fingerprint(v.pub):
		v.res.problem("Digest file %s: INVALID: signed with key %s, not the given key %s", key, d.DigestPublicKeyFingerprint, Fingerprint(v.pub))
	case meta[MetaSignature] == "" || meta[MetaSignatureAlgorithm] != SignatureAlgorithm:
		v.res.problem("Digest file %s: INVALID: no %s signature in its metadata", key, SignatureAlgorithm)
	default:
		end, err := time.Parse(timeFormat, d.DigestEndTime)
		prev := ""
		if d.PreviousDigestSignature != nil {
			prev = *d.PreviousDigestSignature
		}
		if err == nil {
			err = verifySignature(v.pub, stringToSign(end, d.DigestS3Bucket, key, content, prev), meta[MetaSignature])
		}
		if err != nil {
			v.res.problem("Digest file %s: INVALID: signature verification failed", key)
			return false
		}
		return true
	}
	return false
}

// link checks that the digest names the one before it.
func (v *chainVerifier) link(key string, d *Digest) {
	if d.PreviousDigestS3Object == nil {
		if v.prevKey != "" {
			v.res.Notes = append(v.res.Notes, "Digest file "+key+": starts a new chain")
		}
		return
	}
	switch {
	case v.prevKey == "":
		v.res.problem("Digest file %s: INVALID: its previous digest %s is missing", key, *d.PreviousDigestS3Object)
	case *d.PreviousDigestS3Object != v.prevKey:
		v.res.problem("Digest file %s: INVALID: names previous digest %s, but the one before it is %s (deleted digest?)",
			key, *d.PreviousDigestS3Object, v.prevKey)
	case d.PreviousDigestHashValue == nil || *d.PreviousDigestHashValue != v.prevSum:
		v.res.problem("Digest file %s: INVALID: hash of previous digest %s does not match (modified?)", key, v.prevKey)
	case d.PreviousDigestSignature == nil || *d.PreviousDigestSignature != v.prevSig:
		v.res.problem("Digest file %s: INVALID: signature of previous digest %s does not match", key, v.prevKey)
	}
}

func (v *chainVerifier) logFile(ctx context.Context, lf LogFile) {
	v.res.LogFiles++
	v.counted()
	v.listed[lf.S3Object] = true
	body, _, err := v.t.Get(ctx, lf.S3Object)
	if errors.Is(err, objstore.ErrNotFound) {
		v.res.problem("Log file %s: INVALID: not found", lf.S3Object)
		return
	}
	var sum string
	if err == nil {
		sum, err = gunzipSHA256(body)
	}
	switch {
	case err != nil:
		v.res.problem("Log file %s: INVALID: invalid format: %v", lf.S3Object, err)
	case sum != lf.HashValue:
		v.res.problem("Log file %s: INVALID: hash value doesn't match", lf.S3Object)
	}
}
