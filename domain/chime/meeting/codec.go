package meeting

import (
	"fmt"

	"github.com/belfry/belfry/domain"
)

// Decode turns a stored event back into an Event.
func Decode(eventType string, data []byte) (Event, error) {
	switch eventType {
	case TypeScheduled:
		return domain.DecodeAs[Scheduled](eventType, data)
	case TypeStarted:
		return domain.DecodeAs[Started](eventType, data)
	case TypeEnded:
		return domain.DecodeAs[Ended](eventType, data)
	case TypeCancelled:
		return domain.DecodeAs[Cancelled](eventType, data)
	case TypeDisabled:
		return domain.DecodeAs[Disabled](eventType, data)
	}
	return nil, fmt.Errorf("meeting: unknown event type %q", eventType)
}
