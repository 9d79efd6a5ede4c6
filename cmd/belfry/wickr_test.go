package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// boto3Dir holds the Python unittest files that drive the Wickr Admin API through the official AWS SDK
// for Python (boto3), one file per context: test_<context>.py, beside the shared helper belfry_wickr.py.
const boto3Dir = "../../api/wickr/testdata/boto3"

// boto3Setups prepares what a Python file needs that the API cannot make yet (e.g. users written
// through a decider before the users slice exists); the variables it returns reach the Python
// process's environment. A file without an entry gets none.
var boto3Setups = map[string]func(t *testing.T, b *running) map[string]string{}

// boto3Options adjust the Belfry a Python file runs against before it starts (e.g. a mail directory,
// an injected clock). A file without an entry gets the defaults.
var boto3Options = map[string]func(t *testing.T, m *Main){}

// boto3Checks check, after a Python file passed, what only the server can see (e.g. audit records).
var boto3Checks = map[string]func(t *testing.T, b *running){}

// TestWickrBoto3 runs every test_*.py in api/wickr/testdata/boto3 as a subtest, each against a Belfry
// of its own (a fresh installation: one AWS account, so the account-wide trial rules start clean),
// with python3 -m unittest; a failing case fails the subtest with the Python output. Add a context's
// tests by adding a file; `go test -run 'TestWickrBoto3/test_networks' ./cmd/belfry` runs one file.
//
// The Python process gets BELFRY_URL, WICKR_REGION (us-east-1), the admin key (BELFRY_ADMIN_KEY_ID,
// BELFRY_ADMIN_SECRET: AdministratorAccess), a key with only AWSWickrFullAccess (BELFRY_WICKR_KEY_ID,
// BELFRY_WICKR_SECRET) and one with only AmazonChimeFullAccess (BELFRY_CHIME_KEY_ID,
// BELFRY_CHIME_SECRET), and the variables of its setup.
func TestWickrBoto3(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	files, err := filepath.Glob(filepath.Join(boto3Dir, "test_*.py"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Python test files in %s: %v", boto3Dir, err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".py")
		t.Run(name, func(t *testing.T) {
			t.Parallel() // each file has a Belfry of its own
			runBoto3(t, name)
		})
	}
}

// runBoto3 starts Belfry and runs one Python test file against it.
func runBoto3(t *testing.T, name string) {
	b := startBelfryWith(t, func(m *Main) {
		if opt := boto3Options[name]; opt != nil {
			opt(t, m)
		}
	})
	wickrID, wickrSecret := b.accessKey(t, "wickr-admin", "AWSWickrFullAccess")
	chimeID, chimeSecret := b.accessKey(t, "chime-admin", "AmazonChimeFullAccess")
	env := map[string]string{
		"BELFRY_URL": b.url, "WICKR_REGION": "us-east-1", "BELFRY_AWS_ACCOUNT": b.awsAcct,
		"BELFRY_ADMIN_KEY_ID": b.keyID, "BELFRY_ADMIN_SECRET": b.secret,
		"BELFRY_WICKR_KEY_ID": wickrID, "BELFRY_WICKR_SECRET": wickrSecret,
		"BELFRY_CHIME_KEY_ID": chimeID, "BELFRY_CHIME_SECRET": chimeSecret,
	}
	if setup := boto3Setups[name]; setup != nil {
		for k, v := range setup(t, b) {
			env[k] = v
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "python3", "-m", "unittest", "-v", name)
	cmd.Dir = boto3Dir
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s.py failed (%v):\n%s", name, err, out)
	}
	if testing.Verbose() {
		t.Logf("%s.py:\n%s", name, out)
	}
	if check := boto3Checks[name]; check != nil {
		check(t, b)
	}
}
