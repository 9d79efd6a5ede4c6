package cloudtrail

import (
	"context"
	"time"

	"github.com/belfry/belfry/domain/audit"
)

// Digest is a CloudTrail digest file, its members in CloudTrail's order. The previous-digest members
// are null in a starting digest; the event times are null in a digest that lists no log file.
type Digest struct {
	AWSAccountID                string    `json:"awsAccountId"`
	DigestStartTime             string    `json:"digestStartTime"`
	DigestEndTime               string    `json:"digestEndTime"`
	DigestS3Bucket              string    `json:"digestS3Bucket"`
	DigestS3Object              string    `json:"digestS3Object"`
	DigestPublicKeyFingerprint  string    `json:"digestPublicKeyFingerprint"`
	DigestSignatureAlgorithm    string    `json:"digestSignatureAlgorithm"`
	NewestEventTime             *string   `json:"newestEventTime"`
	OldestEventTime             *string   `json:"oldestEventTime"`
	PreviousDigestS3Bucket      *string   `json:"previousDigestS3Bucket"`
	PreviousDigestS3Object      *string   `json:"previousDigestS3Object"`
	PreviousDigestHashValue     *string   `json:"previousDigestHashValue"`
	PreviousDigestHashAlgorithm *string   `json:"previousDigestHashAlgorithm"`
	PreviousDigestSignature     *string   `json:"previousDigestSignature"`
	LogFiles                    []LogFile `json:"logFiles"`
}

// LogFile is one entry of a digest's logFiles: hashValue is the hex SHA-256 of the uncompressed file.
type LogFile struct {
	S3Bucket        string `json:"s3Bucket"`
	S3Object        string `json:"s3Object"`
	HashValue       string `json:"hashValue"`
	HashAlgorithm   string `json:"hashAlgorithm"`
	NewestEventTime string `json:"newestEventTime"`
	OldestEventTime string `json:"oldestEventTime"`
}

// Metadata keys of a digest object (x-amz-meta-signature, x-amz-meta-signature-algorithm).
const (
	MetaSignature          = "signature"
	MetaSignatureAlgorithm = "signature-algorithm"
)

// writeDigests writes, for every chain whose next digest starts before end, its digest of
// [chain.Start, end), and links the chain to it.
func (t *Trail) writeDigests(ctx context.Context, st *State, end time.Time, p *Progress) error {
	for _, c := range st.Chains {
		if !c.Start.Before(end) {
			continue
		}
		if err := t.writeDigest(ctx, c, end, p); err != nil {
			return err
		}
	}
	return nil
}

func (t *Trail) writeDigest(ctx context.Context, c *Chain, end time.Time, p *Progress) error {
	key := t.Layout.DigestKey(c.Account, c.Region, end)
	d := Digest{
		AWSAccountID: c.Account, DigestStartTime: c.Start.UTC().Format(timeFormat), DigestEndTime: end.UTC().Format(timeFormat),
		DigestS3Bucket: t.Target.Bucket(), DigestS3Object: key, DigestPublicKeyFingerprint: Fingerprint(t.Signer.Public()),
		DigestSignatureAlgorithm: SignatureAlgorithm, LogFiles: append([]LogFile{}, c.Pending...),
	}
	for _, f := range c.Pending {
		if d.NewestEventTime == nil || f.NewestEventTime > *d.NewestEventTime {
			d.NewestEventTime = &f.NewestEventTime
		}
		if d.OldestEventTime == nil || f.OldestEventTime < *d.OldestEventTime {
			d.OldestEventTime = &f.OldestEventTime
		}
	}
	if c.PrevKey != "" {
		bucket, alg := t.Target.Bucket(), HashAlgorithm
		d.PreviousDigestS3Bucket, d.PreviousDigestS3Object = &bucket, &c.PrevKey
		d.PreviousDigestHashValue, d.PreviousDigestHashAlgorithm, d.PreviousDigestSignature = &c.PrevHash, &alg, &c.PrevSig
	}
	content, err := audit.MarshalJSON(d)
	if err != nil {
		return err
	}
	sig, err := t.Signer.sign(stringToSign(end, t.Target.Bucket(), key, content, c.PrevSig))
	if err != nil {
		return err
	}
	written, err := t.put(ctx, key, gzipBytes(content), map[string]string{MetaSignature: sig, MetaSignatureAlgorithm: SignatureAlgorithm})
	if err != nil {
		return err
	}
	if written {
		p.DigestsWritten++
	}
	p.Digested += len(c.Pending)
	c.PrevKey, c.PrevHash, c.PrevSig, c.Start, c.Pending = key, sha256Hex(content), sig, end, nil
	return nil
}
