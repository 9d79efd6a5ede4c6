// Package mail sends Belfry's outbound e-mail (invitations). The default sink writes each message as
// an RFC 5322 file into a directory (an outbox an operator or a relay can pick up); with an SMTP
// address configured it sends through that server.
package mail

import (
	"context"
	"fmt"
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

// SMTP sends through an SMTP server (no authentication; for a local relay).
type SMTP struct {
	Addr, From string
}

// Send implements Sender.
func (s SMTP) Send(_ context.Context, m Message) error {
	if err := smtp.SendMail(s.Addr, nil, s.From, []string{m.To}, render(s.From, m)); err != nil {
		return fmt.Errorf("mail: smtp %s: %w", s.Addr, err)
	}
	return nil
}
