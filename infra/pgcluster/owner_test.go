package pgcluster_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/belfry/belfry/infra/pgcluster"
)

// ownerDirEnv makes the test binary a cluster owner (see TestOwnerHelper).
const ownerDirEnv = "PGCLUSTER_TEST_OWNER_DIR"

const readyLine = "pgcluster-owner-ready"

// TestOwnerHelper is not a test: run by startOwner in a child process, it starts the cluster in
// $PGCLUSTER_TEST_OWNER_DIR, prints readyLine and stops the cluster when its stdin closes.
func TestOwnerHelper(t *testing.T) {
	dir := os.Getenv(ownerDirEnv)
	if dir == "" {
		t.Skip("helper process only")
	}
	c, err := pgcluster.Start(context.Background(), pgcluster.Config{Dir: dir, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("\n%s owned=%v\n", readyLine, c.Owned())
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
}

// owner is a child process that started (and owns) the cluster in a directory.
type owner struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

func startOwner(t *testing.T, dir string) *owner {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestOwnerHelper$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), ownerDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, readyLine) {
			if line != readyLine+" owned=true" {
				t.Fatalf("the helper should own the cluster: %q", line)
			}
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return &owner{cmd: cmd, stdin: stdin}
		}
	}
	_ = cmd.Wait()
	t.Fatalf("the owner process ended before its cluster was ready: %v", sc.Err())
	return nil
}

// postmasterPID reads the postmaster's pid from its pid file (0 when there is none).
func postmasterPID(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	return pid
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...: the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func queryOne(t *testing.T, url string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("the server should be running: %v", err)
	}
	defer conn.Close(ctx)
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		t.Fatal(err)
	}
}

// TestStartAdoptsOrphanAfterKill9: the owning process is killed with SIGKILL, its postmaster survives;
// the next Start owns that postmaster, and its clean Stop stops it.
func TestStartAdoptsOrphanAfterKill9(t *testing.T) {
	dir := t.TempDir()
	o := startOwner(t, dir)
	pid := postmasterPID(t, dir)
	if err := o.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = o.cmd.Wait()
	if pid == 0 || !alive(pid) {
		t.Fatalf("the postmaster (pid %d) should outlive its killed owner", pid)
	}

	c, err := pgcluster.Start(context.Background(), pgcluster.Config{Dir: dir, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Owned() {
		_ = exec.Command("kill", strconv.Itoa(pid)).Run()
		t.Fatal("Start after the owner died should own the orphaned postmaster")
	}
	if got := postmasterPID(t, dir); got != pid {
		t.Fatalf("the orphan should be adopted as it runs: pid %d, want %d", got, pid)
	}
	queryOne(t, c.URL("postgres"))
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		t.Fatalf("postmaster %d still runs after the owner's clean Stop", pid)
	}
	if got := postmasterPID(t, dir); got != 0 {
		t.Fatalf("postmaster.pid still names %d after Stop", got)
	}
}

// TestStartAttachesToLiveOwner: while another process owns the server, Start attaches and Stop
// leaves the server running; the owner's clean stop then stops it.
func TestStartAttachesToLiveOwner(t *testing.T) {
	dir := t.TempDir()
	o := startOwner(t, dir)
	pid := postmasterPID(t, dir)
	c, err := pgcluster.Start(context.Background(), pgcluster.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if c.Owned() {
		t.Fatal("Start beside a live owner should attach")
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if !alive(pid) {
		t.Fatal("an attached Stop stopped the owner's server")
	}
	queryOne(t, c.URL("postgres"))

	o.stdin.Close()
	if err := o.cmd.Wait(); err != nil {
		t.Fatalf("owner process: %v", err)
	}
	if alive(pid) || postmasterPID(t, dir) != 0 {
		t.Fatalf("postmaster %d still runs after its owner's clean stop", pid)
	}
}
