package awsproto

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/belfry/belfry/api/sigv4"
	"github.com/belfry/belfry/domain"
	"github.com/labstack/echo/v4"
)

// WireError is an error as the AWS restJson1 protocol sends it: a status, the X-Amzn-ErrorType header
// and a {"Code","Message"} body, or Body when a service's errors have other members.
type WireError struct {
	Status int
	Type   string // X-Amzn-ErrorType, e.g. NotFoundException
	Code   string // body Code (the service's ErrorCode enum), e.g. NotFound
	Msg    string
	// Body, when set, is the JSON body instead of {"Code","Message"} (e.g. Wickr's {"message","reasons"}).
	Body any
	// RetryAfter, when set, is answered as the Retry-After header (a throttled domain error's wait).
	RetryAfter time.Duration
}

func (e *WireError) Error() string { return e.Type + ": " + e.Msg }

// kindTable maps every domain error kind to its Chime wire error, once.
var kindTable = map[domain.Kind]struct {
	status    int
	typ, code string
}{
	domain.KindInvalid:       {http.StatusBadRequest, "BadRequestException", "BadRequest"},
	domain.KindNotFound:      {http.StatusNotFound, "NotFoundException", "NotFound"},
	domain.KindConflict:      {http.StatusConflict, "ConflictException", "Conflict"},
	domain.KindForbidden:     {http.StatusForbidden, "ForbiddenException", "Forbidden"},
	domain.KindUnprocessable: {http.StatusUnprocessableEntity, "UnprocessableEntityException", "Unprocessable"},
	domain.KindLimitExceeded: {http.StatusBadRequest, "ResourceLimitExceededException", "ResourceLimitExceeded"},
	domain.KindThrottled:     {http.StatusTooManyRequests, "ThrottledClientException", "Throttled"},
}

// ToWire maps any error to the wire error the SDK expects. Unknown errors become a generic 500.
func ToWire(err error) *WireError {
	var we *WireError
	if errors.As(err, &we) {
		return we
	}
	var se *sigv4.Error
	if errors.As(err, &se) {
		return &WireError{Status: se.Status, Type: se.Type, Code: se.Code, Msg: se.Msg}
	}
	if k := domain.KindOf(err); k != 0 {
		if m, ok := kindTable[k]; ok {
			return &WireError{Status: m.status, Type: m.typ, Code: m.code, Msg: err.Error(), RetryAfter: domain.RetryAfterOf(err)}
		}
	}
	return &WireError{Status: http.StatusInternalServerError, Type: "ServiceFailureException", Code: "ServiceFailure",
		Msg: "The service encountered an unexpected error."}
}

// BadRequest is a 400 BadRequestException with a message naming the field.
func BadRequest(msg string) *WireError {
	return &WireError{Status: http.StatusBadRequest, Type: "BadRequestException", Code: "BadRequest", Msg: msg}
}

// ClientError answers an error outside the SigV4 APIs (the client API) in the same JSON shape, with
// Retry-After when the error carries a wait.
func ClientError(c echo.Context, err error) error {
	w := ToWire(err)
	if d := domain.RetryAfterOf(err); d > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
	}
	c.Response().Header().Set("X-Amzn-ErrorType", w.Type)
	return c.JSON(w.Status, map[string]string{"Code": w.Code, "Message": w.Msg})
}
