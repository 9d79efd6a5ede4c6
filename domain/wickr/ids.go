package wickr

import (
	"crypto/sha256"
	"encoding/hex"
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"
)

// Model constraints on identifiers (botocore wickr 2024-02-01): NetworkId is exactly 8 digits,
// UserId and BotId 1–10 digits.
var (
	networkIDPattern = regexp.MustCompile(`^[0-9]{8}$`)
	numericIDPattern = regexp.MustCompile(`^[0-9]{1,10}$`)
	// A username is an e-mail address (guide §14.1, troubleshooting "username format"): the e-mail is
	// the registration identifier, and a username holds letters, digits, periods, hyphens and
	// underscores besides its "@" and domain.
	usernamePattern = regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`)
)

// MaxUsername is the longest e-mail address (RFC 5321 path limit).
const MaxUsername = 254

// ValidNetworkID checks a network id against the model's NetworkId (8 digits).
func ValidNetworkID(field, id string) error {
	if !networkIDPattern.MatchString(id) {
		return Invalid(field, "must be 8 digits, got %q", id)
	}
	return nil
}

// ValidNumericID checks a user or bot id against the model's UserId/BotId (1–10 digits).
func ValidNumericID(field, id string) error {
	if !numericIDPattern.MatchString(id) {
		return Invalid(field, "must be 1 to 10 digits, got %q", id)
	}
	return nil
}

// NormalizeUsername validates a user's username — an e-mail address — and returns it lower-cased,
// the form in which usernames are compared and claimed (they are unique per network, case-insensitive).
func NormalizeUsername(field, username string) (string, error) {
	u := strings.TrimSpace(username)
	switch {
	case u == "":
		return "", Invalid(field, "is required")
	case len(u) > MaxUsername:
		return "", Invalid(field, "must be at most %d characters", MaxUsername)
	case !usernamePattern.MatchString(u):
		return "", Invalid(field, "must be an e-mail address of letters, digits, periods, hyphens and underscores, got %q", username)
	}
	return strings.ToLower(u), nil
}

// UsernameHash is a username's "uname": the hex SHA-256 of its normalized (lower-case) form. Guests
// are addressed by it (UpdateGuestUser's usernameHash) and BatchLookupUserUname resolves it.
func UsernameHash(username string) string {
	h := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(username))))
	return hex.EncodeToString(h[:])
}

// Regions are the AWS regions that offer Wickr (guide §0.2); us-gov-west-1 is AWS WickrGov.
var Regions = []string{
	"us-east-1", "ap-southeast-5", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1",
	"ca-central-1", "eu-central-1", "eu-west-2", "eu-north-1", "eu-central-2", "us-gov-west-1",
}

// GovRegion is the AWS GovCloud (US-West) region, where Wickr is AWS WickrGov.
const GovRegion = "us-gov-west-1"

// ValidRegion reports whether Wickr is offered in region.
func ValidRegion(field, region string) error {
	for _, r := range Regions {
		if r == region {
			return nil
		}
	}
	return Invalid(field, "Wickr is not offered in region %q", region)
}

// DirectoryShards is how many directory streams share the usernames of one network
// (see the package documentation for the arithmetic).
const DirectoryShards = 8

// DirectoryShard is the directory shard (0..DirectoryShards-1) that holds a normalized username.
func DirectoryShard(username string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(username))
	return int(h.Sum32() % DirectoryShards)
}

// RosterBlockSize is how many consecutive user ids share one roster stream.
const RosterBlockSize = 1000

// RosterBlock is the roster block of a user id (its numeric value divided by RosterBlockSize); the
// id must be valid (ValidNumericID).
func RosterBlock(userID string) string {
	n, _ := strconv.ParseUint(userID, 10, 64)
	return strconv.FormatUint(n/RosterBlockSize, 10)
}
