package porting

import (
	"encoding/json"
	"fmt"
)

// Decode turns a stored event back into an Event.
func Decode(eventType string, data []byte) (Event, error) {
	var e Event
	var err error
	switch eventType {
	case TypeSubmitted:
		var v OrderSubmitted
		err = json.Unmarshal(data, &v)
		e = v
	case TypeStatusChanged:
		var v StatusChanged
		err = json.Unmarshal(data, &v)
		e = v
	case TypeDocsRequested:
		var v DocumentsRequested
		err = json.Unmarshal(data, &v)
		e = v
	case TypeDocUploaded:
		var v DocumentUploaded
		err = json.Unmarshal(data, &v)
		e = v
	default:
		return nil, fmt.Errorf("porting: unknown event type %q", eventType)
	}
	if err != nil {
		return nil, fmt.Errorf("porting: decode %s: %w", eventType, err)
	}
	return e, nil
}
