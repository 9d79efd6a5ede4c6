package chatbench

import (
	"encoding/json"
	"testing"
	"time"
)

// TestStampOf: the readers find the send time in a message frame as a JSON decoder would, and none
// in a frame without one.
func TestStampOf(t *testing.T) {
	sent := time.Unix(0, 1_764_400_000_123_456_789)
	frame, _ := json.Marshal(map[string]any{"Type": "Message", "Cursor": 42,
		"Message": map[string]any{"ConversationId": "c", "SenderName": `A "quoted" name`, "Content": stamp(sent)}})
	if got, ok := stampOf(frame); !ok || !got.Equal(sent) {
		t.Fatalf("stampOf(%s) = %v %v", frame, got, ok)
	}
	for _, f := range []string{`{"Type":"Ready","Cursor":7}`, `{"Type":"Message","Message":{"Content":"hello"}}`,
		`{"Type":"Message","Message":{"Content":"12 bench`, `{"Content":"12x bench"}`} {
		if _, ok := stampOf([]byte(f)); ok {
			t.Fatalf("a stamp in %s", f)
		}
	}
}
