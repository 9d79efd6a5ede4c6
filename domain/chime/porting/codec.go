package porting

import (
	"fmt"

	"github.com/belfry/belfry/domain"
)

// Decode turns a stored event back into an Event.
func Decode(eventType string, data []byte) (Event, error) {
	switch eventType {
	case TypeSubmitted:
		return domain.DecodeAs[OrderSubmitted](eventType, data)
	case TypeStatusChanged:
		return domain.DecodeAs[StatusChanged](eventType, data)
	case TypeDocsRequested:
		return domain.DecodeAs[DocumentsRequested](eventType, data)
	case TypeDocUploaded:
		return domain.DecodeAs[DocumentUploaded](eventType, data)
	}
	return nil, fmt.Errorf("porting: unknown event type %q", eventType)
}
