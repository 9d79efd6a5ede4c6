package sideeffects

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// Re-driving poisoned messages. A message that failed MaxRetries+1 times goes to the poison topic.
// For most side effects that is the end (a mail, an order, a CDR: an operator reads the topic). The
// handlers listed in redrivable are idempotent and fail for reasons that pass — a Wickr password
// reset's room step waits for the conversations read model, which may be rebuilding for minutes —
// so their poisoned messages are delivered again on their own topic, RedriveDelay after they are
// read from the poison topic, at most MaxRedrives times (then they are given up, logged as an
// error). The poison topic's messages stay in its table either way. Re-drives go one at a time: N
// poisoned messages take N × RedriveDelay a round.

// HandlerRedrive is the handler that re-drives poisoned messages.
const HandlerRedrive = "redrive_poisoned_messages"

// RedrivesKey is the metadata of a re-driven message: how many times it was re-driven.
const RedrivesKey = "belfry_redrives"

// redrivable are the handlers whose poisoned messages are re-driven.
var redrivable = map[string]bool{HandlerWickrRooms: true}

// maxRedriveDelay keeps a re-drive's wait inside watermill-sql's ack deadline (30 s).
const maxRedriveDelay = 25 * time.Second

// errRedriveLater is a re-drive that did not happen — interrupted by the router's close, or its
// publish failed —: the poisoned message is not acknowledged (it is read again, at the latest at the
// next start), and it does not go to the poison topic again (where it would be dropped as the
// re-drive handler's own).
var errRedriveLater = errors.New("sideeffects: re-drive not done")

// poisonable is the poison middleware's filter: every failure but a re-drive not done.
func poisonable(err error) bool { return !errors.Is(err, errRedriveLater) }

// addRedrive adds the handler that re-drives the poisoned messages of the redrivable handlers.
func addRedrive(r *message.Router, sub message.Subscriber, pub message.Publisher, cfg RouterConfig) {
	r.AddConsumerHandler(HandlerRedrive, TopicPoison, sub, func(msg *message.Message) error {
		handler, topic := msg.Metadata.Get(middleware.PoisonedHandlerKey), msg.Metadata.Get(middleware.PoisonedTopicKey)
		if !redrivable[handler] || topic == "" {
			return nil
		}
		n, _ := strconv.Atoi(msg.Metadata.Get(RedrivesKey))
		if n >= cfg.MaxRedrives {
			cfg.Logger.Error("sideeffects: a poisoned message is given up after its re-drives", "handler", handler, "id", msg.UUID,
				"redrives", n, "reason", msg.Metadata.Get(middleware.ReasonForPoisonedKey))
			return nil
		}
		select {
		case <-time.After(cfg.RedriveDelay):
		case <-msg.Context().Done():
			return fmt.Errorf("%w: %w", errRedriveLater, msg.Context().Err())
		}
		out := message.NewMessage(msg.UUID, msg.Payload)
		for k, v := range msg.Metadata {
			switch k {
			case middleware.ReasonForPoisonedKey, middleware.PoisonedTopicKey, middleware.PoisonedHandlerKey, middleware.PoisonedSubscriberKey:
			default:
				out.Metadata.Set(k, v)
			}
		}
		out.Metadata.Set(RedrivesKey, strconv.Itoa(n+1))
		cfg.Logger.Warn("sideeffects: re-driving a poisoned message", "handler", handler, "id", msg.UUID, "redrive", n+1,
			"reason", msg.Metadata.Get(middleware.ReasonForPoisonedKey))
		if err := pub.Publish(topic, out); err != nil {
			return fmt.Errorf("%w: %w", errRedriveLater, err)
		}
		return nil
	})
}
