package phonenumber

import (
	"encoding/json"
	"fmt"
)

// Decode turns a stored number or order event back into an Event.
func Decode(eventType string, data []byte) (Event, error) {
	var e Event
	switch eventType {
	case TypeAcquired:
		e = &Acquired{}
	case TypeUpdated:
		e = &Updated{}
	case TypeAssociated:
		e = &Associated{}
	case TypeDisassociated:
		e = &Disassociated{}
	case TypeDeleted:
		e = &Deleted{}
	case TypeRestored:
		e = &Restored{}
	case TypePortOutPIN:
		e = &PortOutPINSet{}
	case TypePortedOut:
		e = &PortedOut{}
	case TypeOrderCreated:
		e = &OrderCreated{}
	case TypeOrderNumberDone:
		e = &OrderNumberProcessed{}
	case TypeOrderCompleted:
		e = &OrderCompleted{}
	default:
		return nil, fmt.Errorf("phonenumber: unknown event type %q", eventType)
	}
	if err := json.Unmarshal(data, e); err != nil {
		return nil, fmt.Errorf("phonenumber: decode %s: %w", eventType, err)
	}
	switch v := e.(type) {
	case *Acquired:
		return *v, nil
	case *Updated:
		return *v, nil
	case *Associated:
		return *v, nil
	case *Disassociated:
		return *v, nil
	case *Deleted:
		return *v, nil
	case *Restored:
		return *v, nil
	case *PortOutPINSet:
		return *v, nil
	case *PortedOut:
		return *v, nil
	case *OrderCreated:
		return *v, nil
	case *OrderNumberProcessed:
		return *v, nil
	case *OrderCompleted:
		return *v, nil
	}
	return e, nil
}
