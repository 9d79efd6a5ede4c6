package domainclaim

import (
	"fmt"

	"github.com/belfry/belfry/domain"
)

// Decode turns a stored event back into an Event.
func Decode(eventType string, data []byte) (Event, error) {
	switch eventType {
	case TypeClaimed:
		return domain.DecodeAs[Claimed](eventType, data)
	case TypeVerified:
		return domain.DecodeAs[Verified](eventType, data)
	case TypeRemoved:
		return domain.DecodeAs[Removed](eventType, data)
	}
	return nil, fmt.Errorf("domainclaim: unknown event type %q", eventType)
}
