package eventstore

import (
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/belfry/belfry/domain"
)

// ErrRefused is a request the event log refused as invalid (gRPC InvalidArgument: a stream name or
// an event out of its bounds, a NUL or invalid UTF-8 in a name): input the caller passed on, never a
// failure of the service; its kind answers 400 wherever a path built a stream name from unchecked
// input.
var ErrRefused = &domain.Error{Kind: domain.KindInvalid, Msg: "the event log refused the request"}

// maxRefusalMessage bounds the event log's message carried by ErrRefused (it may quote the input).
const maxRefusalMessage = 200

// logError wraps an error of the event log on op: ErrRefused for a refusal of the request, else the
// error itself (a failure: connection, server).
func logError(op string, err error) error {
	if st, ok := status.FromError(err); ok && st.Code() == codes.InvalidArgument {
		msg := st.Message()
		if len(msg) > maxRefusalMessage {
			msg = msg[:maxRefusalMessage] + "…"
		}
		return domain.Wrapf(ErrRefused, "%s: %s", op, msg)
	}
	return fmt.Errorf("eventstore: %s: %w", op, err)
}

// short is a stream name as an error quotes it: at most 100 bytes (a refused one may be long).
func short(stream string) string {
	if len(stream) > 100 {
		return stream[:100] + "…"
	}
	return stream
}
