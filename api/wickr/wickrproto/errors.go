package wickrproto

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/sigv4"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
)

// shape is one error shape of the model: its HTTP status and name (X-Amzn-ErrorType).
type shape struct {
	status int
	name   string
}

// The model's seven error shapes.
var (
	validationError   = shape{http.StatusUnprocessableEntity, "ValidationError"}
	badRequestError   = shape{http.StatusBadRequest, "BadRequestError"}
	unauthorizedError = shape{http.StatusUnauthorized, "UnauthorizedError"}
	forbiddenError    = shape{http.StatusForbidden, "ForbiddenError"}
	notFoundError     = shape{http.StatusNotFound, "ResourceNotFoundError"}
	rateLimitError    = shape{http.StatusTooManyRequests, "RateLimitError"}
	internalError     = shape{http.StatusInternalServerError, "InternalServerError"}
)

// byKind maps a domain error kind to its shape when the error names no member (one that does is a
// ValidationError, whatever its kind: a guide rule about a member of the request).
var byKind = map[domain.Kind]shape{
	domain.KindInvalid:       badRequestError,
	domain.KindUnprocessable: badRequestError,
	domain.KindConflict:      badRequestError,
	domain.KindLimitExceeded: badRequestError,
	domain.KindNotFound:      notFoundError,
	domain.KindForbidden:     forbiddenError,
	domain.KindThrottled:     rateLimitError,
}

// byStatus maps the status of a protocol error (awsproto: an unknown operation, a body too large, a
// refused permission, an audit record not stored) to its shape.
var byStatus = map[int]shape{
	http.StatusBadRequest:            badRequestError,
	http.StatusUnauthorized:          unauthorizedError,
	http.StatusForbidden:             forbiddenError,
	http.StatusNotFound:              notFoundError,
	http.StatusRequestEntityTooLarge: badRequestError,
	http.StatusUnprocessableEntity:   validationError,
	http.StatusTooManyRequests:       rateLimitError,
}

// errorDetail is the model's ErrorDetail.
type errorDetail struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// ToWire is the Wickr error table (awsproto.ServiceConfig.Errors): any error of a Wickr call in the
// model's shape.
func ToWire(err error) *awsproto.WireError {
	if reasons := wickr.Reasons(err); len(reasons) > 0 {
		details := make([]errorDetail, len(reasons))
		for i, r := range reasons {
			details[i] = errorDetail{r.Field, r.Reason}
		}
		return build(validationError, err.Error(), details)
	}
	var se *sigv4.Error
	if errors.As(err, &se) {
		// A request that is not signed right is not authenticated: UnauthorizedError, with the reason
		// AWS gives (a malformed Authorization header stays a BadRequestError).
		s := unauthorizedError
		if se.Status == http.StatusBadRequest {
			s = badRequestError
		}
		return build(s, se.Type+": "+se.Msg, nil)
	}
	var we *awsproto.WireError
	if errors.As(err, &we) {
		if we.Body != nil {
			return we // already in a Wickr shape
		}
		s, ok := byStatus[we.Status]
		if !ok {
			s = internalError
		}
		return build(s, we.Msg, nil)
	}
	if s, ok := byKind[domain.KindOf(err)]; ok {
		return build(s, err.Error(), nil)
	}
	return build(internalError, "The service encountered an unexpected error.", nil)
}

func build(s shape, msg string, reasons []errorDetail) *awsproto.WireError {
	body := map[string]any{"message": msg}
	if s == validationError {
		if reasons == nil {
			reasons = []errorDetail{}
		}
		body["reasons"] = reasons
	}
	return &awsproto.WireError{Status: s.status, Type: s.name, Code: s.name, Msg: msg, Body: body}
}

// CheckRegion refuses a credential scope whose region has no Wickr (awsproto.ServiceConfig.Regions):
// BadRequestError, the request is well signed but addressed to an endpoint that does not exist.
func CheckRegion(region string) error {
	if wickr.ValidRegion("region", region) != nil {
		return &awsproto.WireError{Status: http.StatusBadRequest,
			Msg: fmt.Sprintf("AWS Wickr is not offered in region '%s'; it is offered in %v", region, wickr.Regions)}
	}
	return nil
}
