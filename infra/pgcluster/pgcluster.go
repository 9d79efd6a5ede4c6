// Package pgcluster creates, starts and stops a private PostgreSQL cluster from the machine's
// PostgreSQL binaries (initdb, pg_ctl).
//
// Invariants:
//   - A cluster lives in one directory (Config.Dir). The first Start initialises it (initdb) with a
//     generated password stored in Dir/belfry-pg.json (mode 0600); later Starts reuse it.
//   - When the current process runs as root, the server runs as an unprivileged OS user (Config.OSUser,
//     default "postgres", else "nobody"), since PostgreSQL refuses to run as root.
//   - The server listens on 127.0.0.1 only, on Config.Port (0 picks a free port at first start and keeps it).
//   - Exactly one live process owns the server: the one holding an exclusive flock on Dir/owner.lock,
//     taken in Start and held until Stop has stopped the server (a process that dies, even by SIGKILL,
//     releases it with its file descriptors; the descriptor is close-on-exec, so the postmaster never
//     inherits it). Only the owner initialises, starts and stops the server.
//   - Start without a live owner takes ownership: it starts the server, or adopts a postmaster that
//     outlived its owner (a `belfry serve` killed with SIGKILL) as it runs, so that the owner's Stop
//     always stops the server, whoever started it.
//   - Start while another live process owns the server (a CLI command beside a running `belfry
//     serve`) attaches: it waits until the owner has the server reachable, never initialises, and its
//     Stop leaves the server running.
package pgcluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Config describes a private cluster.
type Config struct {
	// Dir holds the cluster's data directory and its state file.
	Dir string
	// BinDir holds initdb and pg_ctl; empty means the newest /usr/lib/postgresql/*/bin.
	BinDir string
	// Port to listen on; 0 picks a free one at first start.
	Port int
	// OSUser runs the server when the process is root; empty means "postgres" or "nobody".
	OSUser string
	// Fast turns off fsync and synchronous commit: for tests only, never for real data.
	Fast bool
}

func (c *Config) setDefaults() error {
	if c.BinDir == "" {
		dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
		sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) < versionOf(dirs[j]) })
		if len(dirs) > 0 {
			c.BinDir = dirs[len(dirs)-1]
		} else if p, err := exec.LookPath("initdb"); err == nil {
			c.BinDir = filepath.Dir(p)
		}
	}
	if c.OSUser == "" && os.Geteuid() == 0 {
		c.OSUser = "postgres"
		if _, err := user.Lookup("postgres"); err != nil {
			c.OSUser = "nobody"
		}
	}
	return nil
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// Validate reports what is wrong with the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("pgcluster: Dir is required"))
	}
	if c.BinDir == "" {
		errs = append(errs, errors.New("pgcluster: no PostgreSQL binaries found (install them: apt-get install -y postgresql)"))
	} else if _, err := os.Stat(filepath.Join(c.BinDir, "initdb")); err != nil {
		errs = append(errs, fmt.Errorf("pgcluster: initdb not found in %s: %w", c.BinDir, err))
	}
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("pgcluster: port %d out of range", c.Port))
	}
	return errors.Join(errs...)
}

type state struct {
	User     string `json:"user"`
	Password string `json:"password"`
	Port     int    `json:"port"`
}

// Cluster is a running private PostgreSQL server.
type Cluster struct {
	cfg   Config
	st    state
	owned bool
	// lock is Dir/owner.lock, flocked exclusively while owned.
	lock *os.File
}

const superuser = "belfry"

// Start initialises the cluster if needed and starts it (owning it), adopts a postmaster whose owner
// died (owning it), or attaches to a server another live process owns.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	cfg.Dir = abs
	c := &Cluster{cfg: cfg}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("pgcluster: create %s: %w", cfg.Dir, err)
	}
	if err := c.makeTraversable(); err != nil {
		return nil, err
	}
	for {
		owner, err := c.tryOwn()
		if err != nil {
			return nil, err
		}
		if owner {
			if err := c.startOwned(ctx); err != nil {
				c.release()
				return nil, err
			}
			return c, nil
		}
		attached, err := c.attach(ctx)
		if err != nil || attached {
			return c, err
		}
		// The owner went away before the server was up: try to own it again.
	}
}

// startOwned runs with the owner lock held: it initialises the cluster if needed and starts the
// server, or adopts the postmaster already running in Dir (its owner died).
func (c *Cluster) startOwned(ctx context.Context) error {
	if err := c.loadOrInit(ctx); err != nil {
		return err
	}
	if !c.running() {
		if err := c.start(ctx); err != nil {
			return err
		}
	}
	c.owned = true
	return c.waitReady(ctx)
}

// tryOwn takes the owner lock without waiting; false means another live process holds it.
func (c *Cluster) tryOwn() (bool, error) {
	f, err := os.OpenFile(filepath.Join(c.cfg.Dir, "owner.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return false, fmt.Errorf("pgcluster: open owner lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return false, nil
		}
		return false, fmt.Errorf("pgcluster: lock %s: %w", f.Name(), err)
	}
	c.lock = f
	return true, nil
}

// release gives up ownership (closing the descriptor drops the flock).
func (c *Cluster) release() {
	c.owned = false
	if c.lock != nil {
		c.lock.Close()
		c.lock = nil
	}
}

// attach waits until the live owner has the server running and reachable. It reports false when the
// owner lock became free first (the owner died or stopped before the server was up).
func (c *Cluster) attach(ctx context.Context) (bool, error) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		if b, err := os.ReadFile(c.stateFile()); err == nil && json.Unmarshal(b, &c.st) == nil && c.running() {
			return true, c.waitReady(ctx)
		}
		if owned, err := c.ownerGone(); err != nil || owned {
			return false, err
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("pgcluster: another process owns %s but its server did not start within 60s", c.cfg.Dir)
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ownerGone reports whether nobody holds the owner lock (probing it without keeping it).
func (c *Cluster) ownerGone() (bool, error) {
	owner, err := c.tryOwn()
	if owner {
		c.release()
	}
	return owner, err
}

func (c *Cluster) dataDir() string   { return filepath.Join(c.cfg.Dir, "data") }
func (c *Cluster) stateFile() string { return filepath.Join(c.cfg.Dir, "belfry-pg.json") }

// makeTraversable lets the unprivileged server user reach Dir through its parents.
func (c *Cluster) makeTraversable() error {
	if c.cfg.OSUser == "" {
		return nil
	}
	for d := c.cfg.Dir; d != "/" && d != "."; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o011); err != nil {
				return fmt.Errorf("pgcluster: make %s traversable for %s: %w", d, c.cfg.OSUser, err)
			}
		}
	}
	return nil
}

func (c *Cluster) loadOrInit(ctx context.Context) error {
	if b, err := os.ReadFile(c.stateFile()); err == nil {
		if err := json.Unmarshal(b, &c.st); err != nil {
			return fmt.Errorf("pgcluster: read %s: %w", c.stateFile(), err)
		}
		if _, err := os.Stat(filepath.Join(c.dataDir(), "PG_VERSION")); err == nil {
			return nil
		}
	}
	pw := make([]byte, 18)
	if _, err := rand.Read(pw); err != nil {
		return err
	}
	c.st = state{User: superuser, Password: hex.EncodeToString(pw), Port: c.cfg.Port}
	if c.st.Port == 0 {
		p, err := freePort()
		if err != nil {
			return err
		}
		c.st.Port = p
	}
	_ = os.RemoveAll(c.dataDir())
	if err := os.MkdirAll(c.dataDir(), 0o700); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	pwFile := filepath.Join(c.cfg.Dir, ".initdb-pw")
	if err := os.WriteFile(pwFile, []byte(c.st.Password+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	defer os.Remove(pwFile)
	if err := c.chown(c.dataDir(), pwFile); err != nil {
		return err
	}
	args := []string{"-D", c.dataDir(), "-U", superuser, "--pwfile", pwFile, "--auth", "scram-sha-256", "-E", "UTF8", "--locale", "C"}
	if c.cfg.Fast {
		args = append(args, "--no-sync")
	}
	if out, err := c.run(ctx, "initdb", args...); err != nil {
		return fmt.Errorf("pgcluster: initdb: %w\n%s", err, out)
	}
	b, _ := json.Marshal(c.st)
	if err := os.WriteFile(c.stateFile(), b, 0o600); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}

func (c *Cluster) chown(paths ...string) error {
	if c.cfg.OSUser == "" {
		return nil
	}
	u, err := user.Lookup(c.cfg.OSUser)
	if err != nil {
		return fmt.Errorf("pgcluster: look up OS user %q: %w", c.cfg.OSUser, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, p := range paths {
		if err := os.Chown(p, uid, gid); err != nil {
			return fmt.Errorf("pgcluster: chown %s: %w", p, err)
		}
	}
	return nil
}

// run executes a PostgreSQL binary, as the unprivileged user when root.
func (c *Cluster) run(ctx context.Context, bin string, args ...string) ([]byte, error) {
	path := filepath.Join(c.cfg.BinDir, bin)
	var cmd *exec.Cmd
	if c.cfg.OSUser != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.cfg.OSUser, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = "/"
	// The server must outlive neither a Ctrl-C sent to our process group nor our own context:
	// a new session keeps the terminal's SIGINT away from it, so shutdown stops it in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.Bytes(), err
}

func (c *Cluster) start(ctx context.Context) error {
	opts := []string{
		"-p", strconv.Itoa(c.st.Port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=",
		"-c", "max_connections=300",
		"-c", "shared_buffers=256MB",
	}
	if c.cfg.Fast {
		opts = append(opts, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	logFile := filepath.Join(c.cfg.Dir, "postgres.log")
	f, err := os.OpenFile(logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	f.Close()
	if err := c.chown(logFile); err != nil {
		return err
	}
	out, err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-l", logFile, "-w", "-t", "60", "-o", strings.Join(opts, " "), "start")
	if err != nil {
		tail, _ := os.ReadFile(logFile)
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return fmt.Errorf("pgcluster: pg_ctl start: %w\n%s\n%s", err, out, tail)
	}
	return nil
}

// running reports whether a live postmaster owns the data directory.
func (c *Cluster) running() bool {
	b, err := os.ReadFile(filepath.Join(c.dataDir(), "postmaster.pid"))
	if err != nil {
		return false
	}
	lines := strings.Split(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	if len(lines) > 3 {
		if p, err := strconv.Atoi(strings.TrimSpace(lines[3])); err == nil {
			c.st.Port = p
		}
	}
	return true
}

func (c *Cluster) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(c.st.Port))
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pgcluster: server at %s not reachable: %w", addr, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// URL returns a connection URL for database db.
func (c *Cluster) URL(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(c.st.User, c.st.Password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.st.Port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Owned reports whether this process owns the server (and so stops it).
func (c *Cluster) Owned() bool { return c.owned }

// Stop stops the server if this process owns it, then gives up ownership; a non-owner's Stop does
// nothing.
func (c *Cluster) Stop() error {
	if !c.owned {
		return nil
	}
	defer c.release()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-m", "fast", "-w", "stop"); err != nil {
		return fmt.Errorf("pgcluster: pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgcluster: pick a port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
