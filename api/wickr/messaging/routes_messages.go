package messaging

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/conversation"
)

func (h handlers) post(c echo.Context, me Caller) error {
	var in struct {
		Content    string
		Ttl, Bor   int64
		Attachment *struct {
			Name, ContentType string
			Size              int64
		}
		ForwardedFrom *struct{ ConversationId, MessageId string }
	}
	id, err := conversationID(c)
	if err == nil {
		err = bind(c, &in)
	}
	if err != nil {
		return fail(c, err)
	}
	if in.Attachment != nil {
		return fail(c, wickr.Invalid("Attachment", "a file is posted with its bytes: POST …/conversations/{id}/attachments?Name=…, the body the file"))
	}
	if err := text("Content", in.Content, true, MaxText); err != nil {
		return fail(c, err)
	}
	d := Draft{Text: in.Content, TTL: in.Ttl, BOR: in.Bor}
	if f := in.ForwardedFrom; f != nil {
		if err := text("ForwardedFrom.ConversationId", f.ConversationId, true, maxID); err != nil {
			return fail(c, err)
		}
		if err := text("ForwardedFrom.MessageId", f.MessageId, true, maxID); err != nil {
			return fail(c, err)
		}
		d.ForwardedFrom = &conversation.MessageRef{ConversationID: f.ConversationId, MessageID: f.MessageId}
	}
	m, err := h.s.Post(c.Request().Context(), me, id, d)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(http.StatusCreated, map[string]any{"Message": messageWire(m)})
}

func (h handlers) messages(c echo.Context, me Caller) error {
	id, err := conversationID(c)
	if err != nil {
		return fail(c, err)
	}
	var before int64
	if v := c.QueryParam("NextToken"); v != "" {
		if before, err = strconv.ParseInt(v, 10, 64); err != nil || before < 1 {
			return fail(c, wickr.Invalid("NextToken", "is not a token this API issued"))
		}
	}
	limit, err := maxResults(c)
	if err != nil {
		return fail(c, err)
	}
	list, next, err := h.s.Messages(c.Request().Context(), me, id, before, limit)
	if err != nil {
		return fail(c, err)
	}
	out := make([]map[string]any, len(list))
	for i, m := range list {
		out[i] = messageWire(m)
	}
	tok := ""
	if next > 0 {
		tok = strconv.FormatInt(next, 10)
	}
	return c.JSON(http.StatusOK, map[string]any{"Messages": out, "NextToken": tok})
}

func (h handlers) read(c echo.Context, me Caller) error {
	var in struct {
		MessageIds  []string
		SendReceipt *bool
	}
	id, err := conversationID(c)
	if err == nil {
		err = bind(c, &in)
	}
	if err != nil {
		return fail(c, err)
	}
	if len(in.MessageIds) == 0 || len(in.MessageIds) > conversation.MaxRead {
		return fail(c, wickr.Invalid("MessageIds", "must name 1 to %d messages", conversation.MaxRead))
	}
	for _, m := range in.MessageIds {
		if err := text("MessageIds", m, true, maxID); err != nil {
			return fail(c, err)
		}
	}
	receipt := in.SendReceipt == nil || *in.SendReceipt
	if err := h.s.MarkRead(c.Request().Context(), me, id, in.MessageIds, receipt); err != nil {
		return fail(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func messageWire(m Message) map[string]any {
	out := map[string]any{"ConversationId": m.ConversationID, "MessageId": m.MessageID, "Sender": participantWire(m.Sender),
		"Content": m.Text, "Ttl": m.TTL, "Bor": m.BOR, "CreatedAt": stamp(m.CreatedAt)}
	if !m.ExpiresAt.IsZero() {
		out["ExpiresAt"] = stamp(m.ExpiresAt)
	}
	if !m.BurnAt.IsZero() {
		out["BurnAt"] = stamp(m.BurnAt)
	}
	if f := m.File; f != nil {
		out["Attachment"] = fileWire(f)
	}
	if m.Forwarded {
		out["Forwarded"] = true // never the source's ids: see Message.Forwarded
	}
	if m.ReadBy != nil {
		rs := make([]map[string]any, len(m.ReadBy))
		for i, r := range m.ReadBy {
			rs[i] = map[string]any{"Reader": participantWire(ParseKey(r.ReaderKey)), "ReadAt": stamp(r.ReadAt)}
		}
		out["ReadBy"] = rs
	}
	return out
}
