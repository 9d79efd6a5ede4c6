package room

import (
	"fmt"

	"github.com/belfry/belfry/domain"
)

// Decode turns a stored event back into an Event.
func Decode(eventType string, data []byte) (Event, error) {
	switch eventType {
	case TypeCreated:
		return domain.DecodeAs[Created](eventType, data)
	case TypeRenamed:
		return domain.DecodeAs[Renamed](eventType, data)
	case TypeDeleted:
		return domain.DecodeAs[Deleted](eventType, data)
	case TypeMemberAdded:
		return domain.DecodeAs[MemberAdded](eventType, data)
	case TypeMemberUpdated:
		return domain.DecodeAs[MemberRoleChanged](eventType, data)
	case TypeMemberRemoved:
		return domain.DecodeAs[MemberRemoved](eventType, data)
	case TypeMessagePosted:
		return domain.DecodeAs[MessagePosted](eventType, data)
	case TypeRedacted:
		return domain.DecodeAs[MessageRedacted](eventType, data)
	case TypeWebhookAdded:
		return domain.DecodeAs[WebhookCreated](eventType, data)
	case TypeWebhookNewURL:
		return domain.DecodeAs[WebhookRegenerated](eventType, data)
	case TypeWebhookGone:
		return domain.DecodeAs[WebhookDeleted](eventType, data)
	case TypeBotReplyURL:
		return domain.DecodeAs[BotReplyURLIssued](eventType, data)
	}
	return nil, fmt.Errorf("room: unknown event type %q", eventType)
}
