package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"github.com/belfry/belfry/infra/bench"
	"github.com/belfry/belfry/infra/bench/apibench"
	"github.com/belfry/belfry/infra/bench/archivebench"
	"github.com/belfry/belfry/infra/objstore"
)

// cmdBenchArchive runs `belfry bench archive`: a server on a scratch database, one Wickr network
// whose data-retention bot is registered and enabled, its users registered through their mailed
// invitations and signed in, in group conversations; then messages posted through the client API
// at a steady rate while the archive ships them to its directory (infra/bench/archivebench).
func cmdBenchArchive(ctx context.Context, cfg Config, args []string) error {
	fs := flag.NewFlagSet("bench archive", flag.ContinueOnError)
	o := archivebench.Options{Progress: os.Stderr}
	fs.IntVar(&o.Users, "users", 100, "users of the network")
	fs.IntVar(&o.Group, "group", 10, "members of each group conversation")
	fs.IntVar(&o.Senders, "senders", 32, "concurrent posting clients")
	fs.Float64Var(&o.Rate, "rate", 500, "messages/s offered")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "length of the measured window")
	fs.DurationVar(&o.Warmup, "warmup", 3*time.Second, "posting before the measured window (reported apart)")
	fs.DurationVar(&o.Within, "within", 5*time.Second, "keeping up: every message archived within this long of its post")
	out := fs.String("json", "", "write the JSON report here (default bench-results/archive-<time>.json)")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the posting and archiving here")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if o.Users < 2 || o.Group < 2 || o.Group > o.Users || o.Senders < 1 || o.Rate <= 0 || o.Duration <= 0 || o.Warmup < 0 || o.Within <= 0 {
		return fmt.Errorf("bench archive: --users and --group at least 2 (group ≤ users), --senders at least 1, --rate, --duration and --within positive")
	}
	dbURL, stop, err := bench.ScratchDatabase(ctx, benchPostgres(cfg), "belfry_bench_archive")
	if err != nil {
		return err
	}
	defer stop()
	rep, err := runArchiveBench(ctx, dbURL, o)
	if err != nil {
		return err
	}
	rep.Print(os.Stdout)
	path := *out
	if path == "" {
		path = filepath.Join("bench-results", "archive-"+rep.StartedAt.Format("20060102T150405Z")+".json")
	}
	fmt.Printf("report: %s\n", path)
	return bench.WriteJSON(path, rep)
}

func runArchiveBench(ctx context.Context, dbURL string, o archivebench.Options) (archivebench.Report, error) {
	dir, err := os.MkdirTemp("", "belfry-bench-archive-")
	if err != nil {
		return archivebench.Report{}, err
	}
	defer os.RemoveAll(dir)
	outbox := filepath.Join(dir, "outbox")
	m := NewMain(Config{DatabaseURL: dbURL, DataDir: dir, EventLogAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Region: "us-east-1",
		SkipReadAudit: true, MailDir: outbox, PasswordCost: bcrypt.MinCost, Retention: RetentionConfig{PurgeEvery: "off"}})
	var keyOut bytes.Buffer
	m.Out = &keyOut
	if err := m.Run(ctx); err != nil {
		_ = m.Close()
		return archivebench.Report{}, err
	}
	defer m.Close()
	id, secret, err := apibench.FirstKey(keyOut.String())
	if err != nil {
		return archivebench.Report{}, err
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return archivebench.Report{}, err
	}
	defer pool.Close()
	hc := &http.Client{Timeout: 30 * time.Second}
	s := archiveSeed{admin: apibench.NewWickrAdmin(m.HTTPAddr(), id, secret, hc), http: hc, base: "http://" + m.HTTPAddr(), outbox: outbox}
	t, err := s.seed(ctx, pool, o)
	if err != nil {
		return archivebench.Report{}, err
	}
	t.BaseURL, t.Pool, t.ArchiveDir = s.base, pool, filepath.Join(dir, "wickr-retention")
	second := m.wickr.archiveTo(objstore.DirTarget{Dir: filepath.Join(dir, "catch-up"), Name: "catch-up"}, nil)
	t.CatchUp = second.Round
	return archivebench.Run(ctx, t, o)
}

// archiveSeed builds the benchmark's network through the Admin and client APIs.
type archiveSeed struct {
	admin  *apibench.WickrAdmin
	http   *http.Client
	base   string
	outbox string
}

// seed creates the network (Premium), invites o.Users users into its default group, registers
// each through its mailed invitation, enables data retention (bot, challenge, ENABLE) and creates
// the group conversations of o.Group members.
func (s archiveSeed) seed(ctx context.Context, pool *pgxpool.Pool, o archivebench.Options) (archivebench.Target, error) {
	var n struct{ NetworkId string }
	if err := s.admin.Call(ctx, http.MethodPost, "/networks", nil, map[string]any{"networkName": "Archive bench", "accessLevel": "PREMIUM"}, &n); err != nil {
		return archivebench.Target{}, err
	}
	t := archivebench.Target{NetworkID: n.NetworkId}
	var group string
	if err := pool.QueryRow(ctx, `SELECT group_id FROM rm.wickr_security_groups WHERE network_id = $1 AND is_default`, n.NetworkId).Scan(&group); err != nil {
		return t, err
	}
	emails, userIDs, err := s.invite(ctx, n.NetworkId, group, o.Users)
	if err != nil {
		return t, err
	}
	fmt.Fprintf(o.Progress, "registering %d users through their invitations\n", len(emails))
	for _, e := range emails {
		tok, err := s.register(ctx, e)
		if err != nil {
			return t, err
		}
		t.Tokens = append(t.Tokens, tok)
	}
	bots := "/networks/" + n.NetworkId + "/data-retention-bots"
	for _, step := range []struct {
		method, path string
		body         any
	}{{http.MethodPost, bots, nil}, {http.MethodPost, bots + "/challenge", nil}, {http.MethodPatch, bots, map[string]string{"actionType": "ENABLE"}}} {
		if err := s.admin.Call(ctx, step.method, step.path, nil, step.body, nil); err != nil {
			return t, err
		}
	}
	for lo := 0; lo+o.Group <= len(userIDs); lo += o.Group {
		c := archivebench.Conversation{}
		var members []map[string]string
		for i := lo; i < lo+o.Group; i++ {
			c.Members = append(c.Members, i)
			if i > lo {
				members = append(members, map[string]string{"NetworkId": n.NetworkId, "UserId": userIDs[i]})
			}
		}
		var out struct {
			Conversation struct{ ConversationId string }
		}
		if err := s.client(ctx, http.MethodPost, "/client/v1/wickr/conversations", t.Tokens[lo],
			map[string]any{"Kind": "GROUP", "Title": fmt.Sprintf("bench %d", lo/o.Group), "Members": members}, &out); err != nil {
			return t, err
		}
		c.ID = out.Conversation.ConversationId
		t.Conversations = append(t.Conversations, c)
	}
	return t, nil
}

// invite creates n users by BatchCreateUser of up to 50 and answers their e-mails and ids in order.
func (s archiveSeed) invite(ctx context.Context, network, group string, n int) ([]string, []string, error) {
	var emails, ids []string
	for lo := 0; lo < n; lo += 50 {
		var users []map[string]any
		for i := lo; i < min(lo+50, n); i++ {
			users = append(users, map[string]any{"username": fmt.Sprintf("user%05d@archive-bench.example", i), "securityGroupIds": []string{group}})
		}
		var out struct {
			Successful []struct{ Username, UserId string }
			Failed     []any
		}
		if err := s.admin.Call(ctx, http.MethodPost, "/networks/"+network+"/users", nil, map[string]any{"users": users}, &out); err != nil {
			return nil, nil, err
		}
		if len(out.Failed) > 0 {
			return nil, nil, fmt.Errorf("bench archive: BatchCreateUser refused %d users: %v", len(out.Failed), out.Failed)
		}
		for _, u := range out.Successful {
			emails, ids = append(emails, u.Username), append(ids, u.UserId)
		}
	}
	return emails, ids, nil
}

// archiveBenchPassword meets the default security group's password requirements.
const archiveBenchPassword = "Archive-bench-2026!"

// register accepts email's mailed invitation and answers the session it opens.
func (s archiveSeed) register(ctx context.Context, email string) (string, error) {
	tok, err := s.invitation(ctx, email)
	if err != nil {
		return "", err
	}
	var out struct{ SessionToken string }
	err = s.client(ctx, http.MethodPost, "/client/v1/wickr/registrations", "",
		map[string]string{"Token": tok, "Password": archiveBenchPassword, "AppId": "archive-bench", "DeviceType": "Linux"}, &out)
	return out.SessionToken, err
}

// invitationToken is the token line of an invitation mail.
var invitationToken = regexp.MustCompile(`(?m)^  ([0-9]{8}\.[0-9]+\.[0-9]+\.[0-9a-f]{64})\r?$`)

// invitation waits (at most a minute) for the invitation mailed to email and answers its token.
func (s archiveSeed) invitation(ctx context.Context, email string) (string, error) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		files, _ := filepath.Glob(filepath.Join(s.outbox, "*.eml"))
		for _, f := range files {
			msg, _ := os.ReadFile(f)
			if bytes.Contains(msg, []byte("To: "+email+"\r\n")) && bytes.Contains(msg, []byte("AWS Wickr invitation")) {
				if m := invitationToken.FindSubmatch(msg); m != nil {
					return string(m[1]), nil
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "", fmt.Errorf("bench archive: no invitation mailed to %s", email)
}

// client calls the client API with an optional bearer session; an answer other than 2xx is an error.
func (s archiveSeed) client(ctx context.Context, method, path, bearer string, body, out any) error {
	payload, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}
