package wickrproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/domain/wickr"
)

// Decode reads the JSON body of k into v (an empty body is an empty object). A member of the wrong
// JSON type is a ValidationError naming it, and so is a number out of the 32-bit range in a Go int
// (the slices decode the model's Integer members into int, its Long members into int64); a body
// that is not JSON is a BadRequestError.
func Decode(k *awsproto.Call, v any) error {
	if len(bytes.TrimSpace(k.Body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(k.Body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return wickr.Invalid(te.Field, "must be a JSON %s", jsonKind(te.Type.Kind().String()))
		}
		return awsproto.BadRequest("the request body is not valid JSON: " + err.Error())
	}
	return checkIntegers(reflect.ValueOf(v), "")
}

// checkIntegers refuses every int reachable from v (through pointers, structs and slices) that a
// 32-bit Integer cannot hold, naming it by its JSON path ("securityGroupSettings.maxBor",
// "users[2].inviteCodeTtl"): the SDKs read those members back as 32-bit integers.
func checkIntegers(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return checkIntegers(v.Elem(), path)
	case reflect.Int:
		if n := v.Int(); n < math.MinInt32 || n > math.MaxInt32 {
			return wickr.Invalid(path, "must be an integer from %d to %d, got %d", math.MinInt32, math.MaxInt32, n)
		}
	case reflect.Slice, reflect.Array:
		var errs []error
		for i := range v.Len() {
			errs = append(errs, checkIntegers(v.Index(i), path+"["+strconv.Itoa(i)+"]"))
		}
		return errors.Join(errs...)
	case reflect.Struct:
		var errs []error
		for i := range v.NumField() {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case !f.IsExported() || name == "-":
				continue
			case f.Anonymous && name == "":
				errs = append(errs, checkIntegers(v.Field(i), path)) // an embedded struct's members are the parent's
				continue
			case name == "":
				name = f.Name
			}
			if path != "" {
				name = path + "." + name
			}
			errs = append(errs, checkIntegers(v.Field(i), name))
		}
		return errors.Join(errs...)
	}
	return nil
}

func jsonKind(goKind string) string {
	switch {
	case goKind == "bool":
		return "boolean"
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "float"), strings.HasPrefix(goKind, "uint"):
		return "number"
	case goKind == "slice":
		return "array"
	case goKind == "struct", goKind == "map":
		return "object"
	}
	return goKind
}

// Required refuses a member the model requires when the request leaves it out.
func Required[T any](field string, v *T) error {
	if v == nil {
		return wickr.Invalid(field, "is required")
	}
	return nil
}

// NetworkID is the request's networkId path member, checked against the model's NetworkId.
func NetworkID(k *awsproto.Call) (string, error) {
	id := k.Param("networkId")
	return id, wickr.ValidNetworkID("networkId", id)
}

// clientToken is the model's ClientToken: 1–64 characters of [a-zA-Z0-9-_:].
var clientToken = regexp.MustCompile(`^[a-zA-Z0-9_:-]{1,64}$`)

// ClientToken is the X-Client-Token header of an operation whose model marks it idempotencyToken
// ("" when the request has none). A retried request with the same token must have the same effect
// as the first.
func ClientToken(k *awsproto.Call) (string, error) {
	h := k.Echo.Request().Header
	if _, ok := h["X-Client-Token"]; !ok {
		return "", nil
	}
	t := h.Get("X-Client-Token")
	if !clientToken.MatchString(t) {
		return "", wickr.Invalid("clientToken", "must be 1 to 64 characters of letters, digits, '-', '_' and ':'")
	}
	return t, nil
}

// Sort directions (model enum SortDirection) and the page sizes of every List operation.
const (
	Asc             = "ASC"
	Desc            = "DESC"
	DefaultPageSize = 10
	MaxPageSize     = 100
)

// List is the paging and sorting members of a List operation: maxResults (1–100, default 10),
// sortFields (one or more accepted fields joined by '+'), sortDirection (ASC or DESC, default DESC)
// and the opaque nextToken.
type List struct {
	MaxResults int
	SortFields []string
	Desc       bool
	NextToken  string
}

// ListParams reads the List members of k; sortable lists the accepted sortFields (the first is the
// default), and multi says whether several may be joined with '+'.
func ListParams(k *awsproto.Call, multi bool, sortable ...string) (List, error) {
	l := List{MaxResults: DefaultPageSize, SortFields: []string{sortable[0]}, Desc: true, NextToken: k.Query("nextToken")}
	var errs []error
	if s := k.Query("maxResults"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPageSize {
			errs = append(errs, wickr.Invalid("maxResults", "must be an integer from 1 to %d, got %q", MaxPageSize, s))
		}
		l.MaxResults = n
	}
	switch d := k.Query("sortDirection"); d {
	case "", Desc:
	case Asc:
		l.Desc = false
	default:
		errs = append(errs, wickr.Invalid("sortDirection", "must be ASC or DESC, got %q", d))
	}
	if s := k.Query("sortFields"); s != "" {
		fields := strings.FieldsFunc(s, func(r rune) bool { return r == '+' || r == ' ' }) // a raw "+" arrives as a space
		if len(fields) == 0 {
			errs = append(errs, wickr.Invalid("sortFields", "names no field: %q", s))
			fields = l.SortFields
		}
		if !multi && len(fields) > 1 {
			errs = append(errs, wickr.Invalid("sortFields", "takes one field, got %q", s))
		}
		for _, f := range fields {
			if !slices.Contains(sortable, f) {
				errs = append(errs, wickr.Invalid("sortFields", "must be one of %s, got %q", strings.Join(sortable, ", "), f))
			}
		}
		l.SortFields = fields
	}
	return l, errors.Join(errs...)
}

// Paged adds the model's nextToken to a list response when there is a next page (Wickr's member is
// lower-camel, unlike awsproto.Paged's NextToken).
func Paged(resp map[string]any, next string) map[string]any {
	if next != "" {
		resp["nextToken"] = next
	}
	return resp
}
