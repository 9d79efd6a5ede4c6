package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/belfry/belfry/infra/objstore"
)

// WickrArchiveConfig says where the Wickr data-retention archive goes and how its files rotate,
// under the environment variables of the guide's bot (§8.4) where it has one:
//
//	WICKRIO_S3_BUCKET_NAME   the bucket (unset: the directory BELFRY_WICKR_ARCHIVE_DIR,
//	                         default <data dir>/wickr-retention)
//	WICKRIO_S3_REGION        the bucket's region (default BELFRY_REGION)
//	WICKRIO_S3_FOLDER_NAME   a folder (key prefix) in the bucket or directory
//	BELFRY_WICKR_ARCHIVE_S3_ENDPOINT  an S3-compatible endpoint (empty: AWS S3); credentials from
//	                         AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
//	WICKRIO_COMP_BASENAME    the received-messages files' base name (default receivedMessages)
//	WICKRIO_COMP_FILESIZE    a file's size bound in KiB, 1–65536 (default 1024; the guide's default,
//	                         about 954 GiB, is refused: the file being written is rewritten whole
//	                         on every round and held in memory)
//	WICKRIO_COMP_TIMEROTATE  minutes of messages per file, 0–10080 (default 0: by size only). The
//	                         guide requires it with S3 because its bot uploads a file only once
//	                         rotated; Belfry writes the current file to the bucket on every round,
//	                         so it is not required here.
//
// The bot's re-encryption under a KMS key (WICKRIO_KMS_MSTRKEY_ARN) is not offered: use the
// bucket's own server-side encryption.
type WickrArchiveConfig struct {
	Dir       string `json:"wickrArchiveDir,omitempty"`
	Bucket    string `json:"wickrArchiveBucket,omitempty"`
	Region    string `json:"wickrArchiveRegion,omitempty"`
	Endpoint  string `json:"wickrArchiveEndpoint,omitempty"`
	Folder    string `json:"wickrArchiveFolder,omitempty"`
	BaseName  string `json:"wickrArchiveBaseName,omitempty"`
	FileKiB   int64  `json:"wickrArchiveFileKiB"`
	RotateMin int64  `json:"wickrArchiveRotateMinutes"`
	errs      []error
}

// Bounds of the archive's settings.
const (
	maxArchiveFileKiB   = 64 << 10
	maxArchiveRotateMin = 7 * 24 * 60
)

var (
	s3BucketName    = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	archiveBaseName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	archiveFolder   = regexp.MustCompile(`^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$`)
)

func wickrArchiveConfigFromEnv(get func(k, def string) string, dataDir, region string) WickrArchiveConfig {
	c := WickrArchiveConfig{Dir: get("BELFRY_WICKR_ARCHIVE_DIR", filepath.Join(dataDir, "wickr-retention")),
		Bucket: get("WICKRIO_S3_BUCKET_NAME", ""), Region: get("WICKRIO_S3_REGION", region),
		Endpoint: get("BELFRY_WICKR_ARCHIVE_S3_ENDPOINT", ""), Folder: strings.Trim(get("WICKRIO_S3_FOLDER_NAME", ""), "/"),
		BaseName: get("WICKRIO_COMP_BASENAME", "receivedMessages")}
	num := func(name, def string, lo, hi int64) int64 {
		v := get(name, def)
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < lo || n > hi {
			c.errs = append(c.errs, fmt.Errorf("%s must be a whole number from %d to %d, not %q", name, lo, hi, v))
		}
		return n
	}
	c.FileKiB = num("WICKRIO_COMP_FILESIZE", "1024", 1, maxArchiveFileKiB)
	c.RotateMin = num("WICKRIO_COMP_TIMEROTATE", "0", 0, maxArchiveRotateMin)
	return c
}

func (c WickrArchiveConfig) validate() error {
	errs := c.errs
	if c.Bucket != "" && (!s3BucketName.MatchString(c.Bucket) || strings.Contains(c.Bucket, "..")) {
		errs = append(errs, fmt.Errorf("WICKRIO_S3_BUCKET_NAME=%q is not an S3 bucket name (3–63 lower-case letters, digits, dots and hyphens)", c.Bucket))
	}
	if c.Folder != "" && (len(c.Folder) > 512 || !archiveFolder.MatchString(c.Folder) || strings.Contains("/"+c.Folder+"/", "/../") ||
		strings.Contains("/"+c.Folder+"/", "/./")) {
		errs = append(errs, fmt.Errorf("WICKRIO_S3_FOLDER_NAME=%q must be at most 512 characters of path segments of letters, digits and !_.*'()-", c.Folder))
	}
	if c.BaseName != "" && !archiveBaseName.MatchString(c.BaseName) {
		errs = append(errs, fmt.Errorf("WICKRIO_COMP_BASENAME=%q must be 1–64 letters, digits, _ or -", c.BaseName))
	}
	if c.Endpoint != "" && c.Bucket == "" {
		errs = append(errs, errors.New("BELFRY_WICKR_ARCHIVE_S3_ENDPOINT is set without WICKRIO_S3_BUCKET_NAME"))
	}
	return errors.Join(errs...)
}

// target is the archive's object store: the bucket when one is named, else the directory (the
// default directory under dataDir when the configuration was built in code without one).
func (c WickrArchiveConfig) target(dataDir string) objstore.Target {
	if c.Bucket != "" {
		return s3Target(c.Bucket, c.Endpoint, c.Region)
	}
	dir := c.Dir
	if dir == "" {
		dir = filepath.Join(dataDir, "wickr-retention")
	}
	return objstore.DirTarget{Dir: dir, Name: "wickr-retention"}
}

// prefix is the key prefix of every archived file ("" or ending in "/").
func (c WickrArchiveConfig) prefix() string {
	if c.Folder == "" {
		return ""
	}
	return c.Folder + "/"
}

// fileSize and rotate are the files' bounds (0: the shipper's defaults).
func (c WickrArchiveConfig) fileSize() int64       { return c.FileKiB << 10 }
func (c WickrArchiveConfig) rotate() time.Duration { return time.Duration(c.RotateMin) * time.Minute }
