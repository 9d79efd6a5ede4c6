// Package mail sends Belfry's outbound e-mail (invitations). The default sink writes each message as
// an RFC 5322 file into a directory (an outbox an operator or a relay can pick up); with an SMTP
// address configured it sends through that server.
package mail

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Message is one e-mail.
type Message struct {
	To, Subject, Body string
}

// Sender delivers messages.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// FileSink writes messages into Dir, one .eml file each.
type FileSink struct {
	Dir, From string
}

func render(from string, m Message) []byte {
	return []byte(fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
		from, m.To, m.Subject, time.Now().UTC().Format(time.RFC1123Z), strings.ReplaceAll(m.Body, "\n", "\r\n")))
}

// Send implements Sender.
func (f FileSink) Send(_ context.Context, m Message) error {
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	name := filepath.Join(f.Dir, time.Now().UTC().Format("20060102T150405.000Z")+"-"+uuid.NewString()[:8]+".eml")
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, render(f.From, m), 0o600); err != nil {
		return fmt.Errorf("mail: write: %w", err)
	}
	return os.Rename(tmp, name)
}

// SMTP sends through an SMTP server (no authentication; for a local relay; STARTTLS when it offers
// it). A send ends with its context — a relay that stops answering holds neither the send nor the
// side-effect topic behind it — and, under a context without a deadline, after SMTPTimeout.
type SMTP struct {
	Addr, From string
}

// SMTPTimeout bounds a send whose context has no deadline.
const SMTPTimeout = time.Minute

// Send implements Sender.
func (s SMTP) Send(ctx context.Context, m Message) error {
	if err := s.send(ctx, m); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return fmt.Errorf("mail: smtp %s: %w", s.Addr, err)
	}
	return nil
}

// send is smtp.SendMail on a connection that is closed when ctx ends.
func (s SMTP) send(ctx context.Context, m Message) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, SMTPTimeout)
		defer cancel()
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	defer context.AfterFunc(ctx, func() { _ = conn.Close() })()
	host, _, _ := net.SplitHostPort(s.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host}); err != nil {
			return err
		}
	}
	if err := c.Mail(s.From); err != nil {
		return err
	}
	if err := c.Rcpt(m.To); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(render(s.From, m)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}
