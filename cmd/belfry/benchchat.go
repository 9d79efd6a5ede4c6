package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/chime"
	"github.com/aws/aws-sdk-go-v2/service/chime/types"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belfry/belfry/api/chime/usecase"
	"github.com/belfry/belfry/domain/chime/conversation"
	"github.com/belfry/belfry/infra/bench"
	"github.com/belfry/belfry/infra/bench/apibench"
	"github.com/belfry/belfry/infra/bench/chatbench"
	"github.com/belfry/belfry/infra/eventstore"
	"github.com/belfry/belfry/infra/sessions"
)

// cmdBenchChat runs `belfry bench chat` (see infra/bench/chatbench) on a scratch database with the
// server in this process.
func cmdBenchChat(ctx context.Context, cfg Config, args []string) error {
	fs := flag.NewFlagSet("bench chat", flag.ContinueOnError)
	o := chatbench.Options{Progress: os.Stderr}
	fs.IntVar(&o.Clients, "clients", 1000, "connected WebSocket clients (one user each)")
	fs.IntVar(&o.Group, "group", 10, "members of each group conversation")
	fs.Float64Var(&o.Rate, "rate", 500, "messages/s offered, all senders together")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "length of each scenario")
	fs.DurationVar(&o.Warmup, "warmup", 3*time.Second, "warm-up before each scenario at the same rate, reported apart")
	fs.IntVar(&o.Senders, "senders", 64, "concurrent senders")
	out := fs.String("json", "", "write the JSON report here (default bench-results/chat-<time>.json)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the Belfry scenario here")
	trace := fs.String("trace", "", "write every delivery and send of the Belfry scenario's measured phase here (CSV: kind,sent_unix_us,latency_us)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *trace != "" {
		f, err := os.Create(*trace)
		if err != nil {
			return fmt.Errorf("bench chat: %w", err)
		}
		defer f.Close()
		o.Trace = f
	}
	if o.Clients < 2 || o.Group < 2 || o.Group > conversation.MaxMembers || o.Clients < o.Group || o.Rate <= 0 || o.Senders < 1 || o.Warmup < 0 {
		return fmt.Errorf("bench chat: --clients ≥ --group ≥ 2 (at most %d), --rate > 0, --senders ≥ 1 and --warmup ≥ 0", conversation.MaxMembers)
	}
	rep := chatbench.Report{StartedAt: time.Now().UTC(), LoadAverage: []string{chatbench.LoadAverage()}, TargetP99Ms: 50}
	dbURL, release, err := bench.ScratchDatabase(ctx, benchPostgres(cfg), "belfry_bench_chat")
	defer release()
	if err != nil {
		return err
	}
	m := NewMain(Config{DatabaseURL: dbURL, EventLogAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Region: "us-east-1", SkipReadAudit: true})
	var keyOut bytes.Buffer
	m.Out = &keyOut
	if err := m.Run(ctx); err != nil {
		_ = m.Close()
		return err
	}
	defer m.Close()
	fmt.Fprintf(os.Stderr, "bench chat: seeding %d users and %d conversations\n", o.Clients, o.Clients/o.Group)
	keyID, secret, err := apibench.FirstKey(keyOut.String())
	if err != nil {
		return err
	}
	target, err := seedChat(ctx, m, dbURL, keyID, secret, o)
	if err != nil {
		return err
	}
	settle(m, time.Minute)
	fmt.Fprintf(os.Stderr, "bench chat: belfry, %d clients, %.0f messages/s for %s\n", o.Clients, o.Rate, o.Duration)
	stopProfile, err := bench.StartCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	res, err := chatbench.RunBelfry(ctx, o, target)
	stopProfile()
	if err != nil {
		return err
	}
	rep.Results = append(rep.Results, res...)
	fmt.Fprintf(os.Stderr, "bench chat: floor, same clients, groups and rate\n")
	if res, err = chatbench.RunFloor(ctx, o, target.Groups); err != nil {
		return err
	}
	rep.Results = append(rep.Results, res...)
	rep.LoadAverage = append(rep.LoadAverage, chatbench.LoadAverage())
	rep.Print(os.Stdout)
	path := bench.ReportPath(*out, "chat", rep.StartedAt)
	fmt.Println("JSON report:", path)
	return bench.WriteJSON(path, rep)
}

// seedChat creates the users (CreateUser through the SDK), opens a session for each, and appends the
// group conversations' creation straight to the log (the users are not registered, which the client
// API's CreateConversation requires: registering takes two bcrypt hashes each); it returns once the
// conversations read model holds them.
func seedChat(ctx context.Context, m *Main, dbURL, keyID, secret string, o chatbench.Options) (chatbench.Target, error) {
	sdk := chime.New(chime.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + m.HTTPAddr()),
		Credentials: credentials.NewStaticCredentialsProvider(keyID, secret, "")})
	a, err := sdk.CreateAccount(ctx, &chime.CreateAccountInput{Name: aws.String("Chat bench")})
	if err != nil {
		return chatbench.Target{}, err
	}
	acct := aws.ToString(a.Account.AccountId)
	users, err := createUsers(ctx, sdk, acct, o.Clients)
	if err != nil {
		return chatbench.Target{}, err
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return chatbench.Target{}, err
	}
	defer pool.Close()
	t := chatbench.Target{BaseURL: "http://" + m.HTTPAddr(), Groups: chatbench.Groups(o.Clients, o.Group)}
	if t.Tokens, err = openSessions(ctx, pool, acct, users); err != nil {
		return t, err
	}
	if t.ConversationIDs, err = createGroups(ctx, m, users, t.Groups); err != nil {
		return t, err
	}
	for {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM rm.chime_conversations`).Scan(&n); err != nil {
			return t, err
		}
		if n >= len(t.Groups) {
			return t, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// createUsers creates n users of the account, 8 at a time.
func createUsers(ctx context.Context, sdk *chime.Client, acct string, n int) ([]conversation.Candidate, error) {
	users := make([]conversation.Candidate, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			email := fmt.Sprintf("user%05d@chat-bench.example", i)
			u, err := sdk.CreateUser(ctx, &chime.CreateUserInput{AccountId: &acct, Email: aws.String(email), UserType: types.UserTypePrivateUser})
			if err != nil {
				errs <- err
				return
			}
			users[i] = conversation.Candidate{UserID: aws.ToString(u.User.UserId), AccountID: acct, Email: email, Registered: true}
		})
	}
	wg.Wait()
	close(errs)
	return users, <-errs
}

// openSessions opens a client session for each of users (members of account acct) straight in the
// sessions table, without a sign-in and so without its bcrypt work, and returns their tokens in order.
func openSessions(ctx context.Context, pool *pgxpool.Pool, acct string, users []conversation.Candidate) ([]string, error) {
	store := sessions.New(pool)
	tokens := make([]string, 0, len(users))
	for _, u := range users {
		tok := usecase.RandomToken()
		if err := store.Open(ctx, usecase.HashToken(tok), u.UserID, acct, time.Now()); err != nil {
			return tokens, err
		}
		tokens = append(tokens, tok)
	}
	return tokens, nil
}

// createGroups appends one group conversation per group.
func createGroups(ctx context.Context, m *Main, users []conversation.Candidate, groups [][]int) ([]string, error) {
	client, err := eventstore.Connect(m.EmbeddedLogURL())
	if err != nil {
		return nil, err
	}
	defer func() { _ = eventstore.Close(client, 10*time.Second) }()
	r := newRepo(client, convDecider, time.Now)
	ids := make([]string, len(groups))
	for g, members := range groups {
		others := make([]conversation.Candidate, 0, len(members)-1)
		for _, i := range members[1:] {
			others = append(others, users[i])
		}
		ids[g] = uuid.NewString()
		if _, err := r.Execute(ctx, conversation.StreamName(ids[g]), conversation.Create{Kind: conversation.KindGroup,
			Name: fmt.Sprintf("bench %d", g), Creator: users[members[0]], Others: others}); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// settle waits, at most limit, until every read model has caught up with the seeding (its events
// would otherwise be applied during the measurement).
func settle(m *Main, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		lag := 0.0
		mfs, _ := m.reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() == "belfry_projection_lag_events" {
				for _, x := range mf.GetMetric() {
					lag += x.GetGauge().GetValue()
				}
			}
		}
		if lag == 0 {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}
