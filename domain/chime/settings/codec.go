package settings

import (
	"fmt"

	"github.com/belfry/belfry/domain"
)

// Decode turns a stored event back into an Event.
func Decode(eventType string, data []byte) (Event, error) {
	switch eventType {
	case TypeGlobalSettingsUpdated:
		return domain.DecodeAs[GlobalSettingsUpdated](eventType, data)
	case TypeCallingNameUpdated:
		return domain.DecodeAs[CallingNameUpdated](eventType, data)
	}
	return nil, fmt.Errorf("settings: unknown event type %q", eventType)
}
