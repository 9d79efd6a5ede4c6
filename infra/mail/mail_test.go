package mail_test

import (
	"bufio"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/infra/mail"
)

// smtpServer accepts one session and returns the DATA it received.
func smtpServer(t *testing.T) (addr string, got chan string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got = make(chan string, 1)
	go func() {
		defer l.Close()
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		w := func(s string) { _, _ = c.Write([]byte(s + "\r\n")) }
		w("220 belfry-test ESMTP")
		var data strings.Builder
		inData := false
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if inData {
				if line == ".\r\n" {
					inData = false
					got <- data.String()
					w("250 OK queued")
					continue
				}
				data.WriteString(line)
				continue
			}
			switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
			case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
				w("250 belfry-test")
			case strings.HasPrefix(cmd, "MAIL FROM"), strings.HasPrefix(cmd, "RCPT TO"):
				w("250 OK")
			case cmd == "DATA":
				inData = true
				w("354 go ahead")
			case cmd == "QUIT":
				w("221 bye")
				return
			default:
				w("502 not implemented")
			}
		}
	}()
	return l.Addr().String(), got
}

func TestSMTPSender(t *testing.T) {
	addr, got := smtpServer(t)
	err := mail.SMTP{Addr: addr, From: "belfry@example.com"}.Send(context.Background(),
		mail.Message{To: "alice@example.com", Subject: "Invitation", Body: "token:\n  abc123"})
	if err != nil {
		t.Fatal(err)
	}
	msg := <-got
	for _, want := range []string{"To: alice@example.com", "From: belfry@example.com", "Subject: Invitation", "abc123"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("message lacks %q:\n%s", want, msg)
		}
	}
}

func TestSMTPUnreachable(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	if err := (mail.SMTP{Addr: addr, From: "x@example.com"}).Send(context.Background(), mail.Message{To: "a@example.com"}); err == nil {
		t.Fatal("an unreachable relay must fail the send")
	}
}

func TestFileSink(t *testing.T) {
	dir := t.TempDir()
	if err := (mail.FileSink{Dir: dir, From: "belfry@localhost"}).Send(context.Background(), mail.Message{To: "b@example.com", Subject: "Hi", Body: "one\ntwo"}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("%d files", len(files))
	}
	b, _ := os.ReadFile(files[0])
	if !strings.Contains(string(b), "To: b@example.com\r\n") || !strings.Contains(string(b), "one\r\ntwo") {
		t.Fatalf("message: %q", b)
	}
}

// TestSMTPStalledRelayEndsWithTheContext: a relay that accepts the connection and never answers (or
// stops answering mid-session) must not hold the send — and the side-effect topic behind it — for
// ever: the send ends with its context (the router's message context has the ack deadline).
func TestSMTPStalledRelayEndsWithTheContext(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accepted, never answered
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- mail.SMTP{Addr: l.Addr().String(), From: "x@example.com"}.Send(ctx, mail.Message{To: "a@example.com", Subject: "s", Body: "b"})
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a relay that never answered took the mail")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the send to a stalled relay outlived its context by seconds")
	}
}
