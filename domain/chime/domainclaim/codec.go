package domainclaim

import (
	"encoding/json"
	"fmt"
)

// Decode turns a stored event back into an Event.
func Decode(eventType string, data []byte) (Event, error) {
	var e Event
	var err error
	switch eventType {
	case TypeClaimed:
		var v Claimed
		err = json.Unmarshal(data, &v)
		e = v
	case TypeVerified:
		var v Verified
		err = json.Unmarshal(data, &v)
		e = v
	case TypeRemoved:
		var v Removed
		err = json.Unmarshal(data, &v)
		e = v
	default:
		return nil, fmt.Errorf("domainclaim: unknown event type %q", eventType)
	}
	if err != nil {
		return nil, fmt.Errorf("domainclaim: decode %s: %w", eventType, err)
	}
	return e, nil
}
