package settings

import (
	"encoding/json"
	"fmt"
)

// Decode turns a stored event back into an Event.
func Decode(eventType string, data []byte) (Event, error) {
	switch eventType {
	case TypeGlobalSettingsUpdated:
		var e GlobalSettingsUpdated
		err := decode(data, &e, eventType)
		return e, err
	case TypeCallingNameUpdated:
		var e CallingNameUpdated
		err := decode(data, &e, eventType)
		return e, err
	}
	return nil, fmt.Errorf("settings: unknown event type %q", eventType)
}

func decode(data []byte, v any, t string) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("settings: decode %s: %w", t, err)
	}
	return nil
}
