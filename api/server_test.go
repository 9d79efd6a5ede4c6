package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/chime/clientapi"
)

// serve starts a Server with d on a free loopback port and stops it at the end of the test.
func serve(t *testing.T, d Deps) *Server {
	t.Helper()
	s, err := New(Config{Addr: "127.0.0.1:0"}, d)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve() }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// TestReadyzAnswersWhenACheckHangs: /readyz answers 503 within its bound even when a dependency's
// check ignores its context and never returns (a hung driver call); it used to wait for the check,
// so a probe hung with it and every later probe piled up behind it.
func TestReadyzAnswersWhenACheckHangs(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	s := serve(t, Deps{Ready: func(context.Context) error { <-release; return nil }})
	hc := &http.Client{Timeout: 10 * time.Second} // a liveness bound, not a timing assertion
	for range 2 {                                 // a second probe does not wait behind the first
		resp, err := hc.Get("http://" + s.Addr() + "/readyz")
		if err != nil {
			t.Fatalf("/readyz did not answer while a check hangs: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("/readyz answered %d while a check hangs, want 503", resp.StatusCode)
		}
	}
}

// TestShutdownPastItsBoundCancelsRunningRequests: a request still running when Shutdown's bound
// ends has its context cancelled and its connection closed, so that it stops before the parts it
// uses (the event log, the database) close after the HTTP server. Shutdown used to return at its
// bound and leave such a request running.
func TestShutdownPastItsBoundCancelsRunningRequests(t *testing.T) {
	t.Parallel()
	entered, cancelled := make(chan struct{}), make(chan struct{})
	block := clientapi.Route{Method: http.MethodGet, Path: "/block", Handler: func(c echo.Context) error {
		close(entered)
		<-c.Request().Context().Done()
		close(cancelled)
		return nil
	}}
	s := serve(t, Deps{ClientRoutes: []clientapi.Route{block}})
	go func() {
		if resp, err := http.Get("http://" + s.Addr() + "/client/v1/block"); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); err == nil {
		t.Fatal("Shutdown reported a clean drain while a request was still running")
	}
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second): // a liveness bound
		t.Fatal("a request still ran after Shutdown passed its bound")
	}
}

// TestReadyzNamesTheDependencyNotItsDetails: a failed check is answered by the dependency it names,
// never the driver's words after it (the database's address and user), which only the log gets.
func TestReadyzNamesTheDependencyNotItsDetails(t *testing.T) {
	t.Parallel()
	s := serve(t, Deps{Ready: func(context.Context) error {
		return fmt.Errorf("postgres: %w", errors.New(`failed to connect to user=belfry database=belfry: 10.0.0.5:5432: connection refused`))
	}})
	resp, err := http.Get("http://" + s.Addr() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || string(body) != "not ready: postgres\n" {
		t.Fatalf("/readyz: %d %q", resp.StatusCode, body)
	}
}
