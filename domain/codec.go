package domain

import (
	"encoding/json"
	"fmt"
)

// DecodeAs unmarshals a stored event's JSON into a new T; eventType names it in the error.
func DecodeAs[T any](eventType string, data []byte) (T, error) {
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		return v, fmt.Errorf("decode %s: %w", eventType, err)
	}
	return v, nil
}
