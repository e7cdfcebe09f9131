package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"mailport/internal/access"
	"mailport/internal/auth"
	"mailport/internal/config"
	"mailport/internal/directory"
	"mailport/internal/queue"
	"mailport/internal/store"
)

// ErrorBody is the one shape of every error answer (DESIGN.md section 4):
// {"error": {"code", "message", "fields"}}. Code is a stable word a client
// can switch on; Message is for people; Fields names the request fields
// that failed validation ("body.address", "query.limit") with the reason.
type ErrorBody struct {
	Error ErrorObject `json:"error"`
}

// ErrorObject is the inside of ErrorBody.
type ErrorObject struct {
	Code    string            `json:"code" doc:"Stable error code, e.g. not_found, forbidden, invalid, limit_exceeded"`
	Message string            `json:"message" doc:"Human-readable description"`
	Fields  map[string]string `json:"fields,omitempty" doc:"Request fields that failed validation, by location"`
	// Details carries what an operation reports with its error: the
	// import report with every bad row and its line.
	Details any `json:"details,omitempty"`
}

// Error is an API error: an HTTP status with the body written for it. It
// implements huma.StatusError so handlers can return it.
type Error struct {
	status  int
	headers http.Header
	Body    ErrorObject `json:"error"`
}

func (e *Error) Error() string { return e.Body.Message }

// GetStatus is the HTTP status (huma.StatusError).
func (e *Error) GetStatus() int { return e.status }

// GetHeaders adds headers such as Retry-After (huma.HeadersError).
func (e *Error) GetHeaders() http.Header { return e.headers }

// newError returns an Error with the default code of its status.
func newError(status int, code, msg string) *Error {
	if code == "" {
		code = statusCode(status)
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &Error{status: status, Body: ErrorObject{Code: code, Message: msg}}
}

// statusCode is the default error code of a status.
func statusCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "bad_request"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusNotAcceptable:
		return "not_acceptable"
	case http.StatusConflict:
		return "conflict"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusUnprocessableEntity:
		return "invalid"
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusServiceUnavailable:
		return "unavailable"
	}
	if status >= 500 {
		return "server_error"
	}
	return "bad_request"
}

// humaError is what huma produces for errors it detects itself (body
// parsing, validation, size limits): the same shape, with each
// validation detail as a field.
func humaError(status int, msg string, errs ...error) huma.StatusError {
	if status == 400 && msg == "validation failed" {
		// huma's word for a body that is not JSON at all.
		msg = "invalid JSON body"
	}
	e := newError(status, "", msg)
	var parts []string
	for _, err := range errs {
		var d huma.ErrorDetailer
		if errors.As(err, &d) {
			det := d.ErrorDetail()
			loc := det.Location
			if loc == "" {
				loc = "body"
			}
			if e.Body.Fields == nil {
				e.Body.Fields = map[string]string{}
			}
			if prev, ok := e.Body.Fields[loc]; ok {
				e.Body.Fields[loc] = prev + "; " + det.Message
			} else {
				e.Body.Fields[loc] = det.Message
			}
			parts = append(parts, loc+": "+det.Message)
		} else if err != nil && status < 500 {
			parts = append(parts, err.Error())
		}
	}
	if len(parts) > 0 {
		// Validation errors list the fields in the message too, so a
		// client that only shows the message still says what is wrong.
		if len(parts) > 5 {
			parts = append(parts[:5], "...")
		}
		e.Body.Message = msg + ": " + strings.Join(parts, "; ")
	}
	return e
}

func init() {
	// huma builds its own errors (invalid JSON 400, unknown or invalid
	// fields 422, body too large 413) through NewError; they get the
	// house shape too. mailport has one huma API, so this global is ours.
	huma.NewError = humaError
}

// Sentinels of bad input that the service layer wraps: 422.
var invalidInput = []error{
	directory.ErrInvalidAddress, directory.ErrInvalidDomain, directory.ErrInvalidLogin,
	directory.ErrInvalidRoute, directory.ErrInvalidQuery, directory.ErrLoop, directory.ErrRelayDenied,
	directory.ErrDomainNotHosted, directory.ErrInvalidValue,
	auth.ErrPasswordTooShort, auth.ErrPasswordTooLong, auth.ErrPasswordRepeated,
	auth.ErrPasswordCommon, auth.ErrPasswordInvalid,
}

// errorFor maps a service error to its API error. Anything not known is a
// server failure (500): the service marks bad input with a sentinel, so
// bad input never gets there. A 422 about one input of the operation
// (directory.InputError) names it in error.fields, at the place the
// request carried it (fieldLocation).
func (a *API) errorFor(ctx context.Context, err error) error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	var se huma.StatusError
	if errors.As(err, &se) {
		return se
	}
	var rl *access.RateLimitError
	switch {
	case errors.As(err, &rl):
		return tooMany(rl.RetryAfter)
	case errors.Is(err, auth.ErrInvalidCredentials):
		return newError(http.StatusUnauthorized, "invalid_credentials", "wrong login or password")
	case errors.Is(err, access.ErrUnauthenticated):
		return newError(http.StatusUnauthorized, "", "authentication required")
	case errors.Is(err, access.ErrCSRF):
		return newError(http.StatusForbidden, "csrf", err.Error())
	case errors.Is(err, access.ErrForbidden):
		return newError(http.StatusForbidden, "", err.Error())
	case errors.Is(err, store.ErrNotFound), errors.Is(err, queue.ErrNotFound):
		return newError(http.StatusNotFound, "", err.Error())
	case errors.Is(err, access.ErrLimitExceeded):
		return newError(http.StatusConflict, "limit_exceeded", err.Error())
	case errors.Is(err, store.ErrExists):
		return newError(http.StatusConflict, "exists", err.Error())
	case errors.Is(err, directory.ErrSelf):
		return newError(http.StatusConflict, "self", err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return newError(http.StatusServiceUnavailable, "", "request cancelled or timed out")
	}
	var ke *config.KeyError
	if errors.As(err, &ke) {
		// A refused server setting: the PATCH /settings body names
		// it by its key in mailport.toml.
		return invalid("body."+ke.Key, err.Error())
	}
	for _, s := range invalidInput {
		if errors.Is(err, s) {
			var ie *directory.InputError
			if errors.As(err, &ie) {
				return invalid(a.fieldLocation(operationOf(ctx), ie.Field), err.Error())
			}
			return newError(http.StatusUnprocessableEntity, "", err.Error())
		}
	}
	a.log.ErrorContext(ctx, "api: internal error", "err", err)
	return newError(http.StatusInternalServerError, "", "internal error; the server log has the details")
}

// tooMany is a 429 with Retry-After in whole seconds, rounded up
// (RFC 9110 section 10.2.3).
func tooMany(wait time.Duration) *Error {
	secs := int((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	e := newError(http.StatusTooManyRequests, "", "too many requests; retry after "+strconv.Itoa(secs)+"s")
	e.headers = http.Header{"Retry-After": []string{strconv.Itoa(secs)}}
	return e
}

// invalid is a 422 for input checked here.
func invalid(field, msg string) *Error {
	e := newError(http.StatusUnprocessableEntity, "", msg)
	if field != "" {
		e.Body.Fields = map[string]string{field: msg}
	}
	return e
}

type operationKey struct{}

// operationOf returns the operation a request is for (set by the
// authentication middleware).
func operationOf(ctx context.Context) *huma.Operation {
	o, _ := ctx.Value(operationKey{}).(*huma.Operation)
	return o
}

// fieldLocation is where the input the service calls field was in a
// request for op, as huma names locations: a path or query parameter of
// that name, a property of the JSON body, or the body as a whole (an
// operation whose body is the object the field names, such as the limits
// of PUT /admins/{login}/limits).
func (a *API) fieldLocation(op *huma.Operation, field string) string {
	if op == nil {
		return "body." + field
	}
	for _, p := range op.Parameters {
		if p.Name == field {
			return p.In + "." + field
		}
	}
	if op.RequestBody != nil {
		if mt := op.RequestBody.Content["application/json"]; mt != nil && mt.Schema != nil {
			s := mt.Schema
			if s.Ref != "" {
				s = a.humaAPI.OpenAPI().Components.Schemas.SchemaFromRef(s.Ref)
			}
			if s != nil && s.Properties[field] != nil {
				return "body." + field
			}
		}
	}
	return "body"
}
