package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/agentphone/agentphone"
)

// This file turns JSON request bodies into the domain's input structs and
// reports JSON type errors as Pydantic v2 does, so that 422s look like those
// of the hosted (FastAPI) API.
//
// An input struct's fields are found by their json tags. Fields of type
// agentphone.Opt[T] record presence and null; T may be a string, bool,
// integer, float, json.RawMessage (any JSON value), a slice, a map with string
// keys, or another input struct (recursed, with locs such as
// ["body", "customTools", 3, "url"]). Unknown keys are ignored (spec §1.4).
// A value of the wrong type leaves its field unset and adds a FieldError;
// every error is collected before anything is returned.

// bodyKind says whether an endpoint's body may be absent.
type bodyKind int

const (
	bodyRequired bodyKind = iota // no body (or null) is a 422 "missing" at ["body"]
	bodyOptional                 // no body (or null) decodes as {}
)

// decode reads r's body into dst, a pointer to an input struct. It returns
// errBodyTooLarge past MaxBodyBytes, and a *validationError when the body is
// not a JSON object or a value has the wrong JSON type. In the latter case it
// first asks check (the domain's side-effect-free Validate for the same
// call) for the domain's own errors about the fields that did decode, so that
// one 422 lists every bad field.
func decode(r *http.Request, dst any, kind bodyKind, check func() error) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errBodyTooLarge
		}
		return &statusError{http.StatusBadRequest, "Could not read the request body"}
	}
	bad, whole := decodeJSON(body, dst, kind)
	if len(bad) == 0 {
		return nil
	}
	if whole { // the body as a whole is unusable: nothing else to check
		return &validationError{bad}
	}
	var dv *agentphone.ValidationError
	if check != nil && errors.As(check(), &dv) {
		bad = mergeFieldErrors(bad, prefixLocs("body", dv.Fields), reflect.TypeOf(dst).Elem())
	}
	return &validationError{bad}
}

// decodeJSON decodes body into dst (a pointer to an input struct) and
// returns the type errors, each with a loc starting with "body". whole
// reports that the body as a whole is unusable (not JSON, not an object,
// missing), in which case the one error says so and dst is untouched.
func decodeJSON(body []byte, dst any, kind bodyKind) (errs []agentphone.FieldError, whole bool) {
	missing := []agentphone.FieldError{{Loc: []any{"body"}, Msg: "Field required", Type: "missing"}}
	if len(bytes.TrimSpace(body)) == 0 {
		if kind == bodyOptional {
			return nil, false
		}
		return missing, true
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			// Python's json reports the position of the offending character;
			// Go reports how much it had read, one past it unless input ran out.
			pos := se.Offset
			if pos > 0 && !strings.HasPrefix(se.Error(), "unexpected end") {
				pos--
			}
			return []agentphone.FieldError{{Loc: []any{"body", int(pos)}, Msg: "JSON decode error", Type: "json_invalid"}}, true
		}
		return []agentphone.FieldError{{
			Loc: []any{"body"}, Msg: "Input should be a valid dictionary or object to extract fields from",
			Type: "model_attributes_type",
		}}, true
	}
	if obj == nil { // the literal null
		if kind == bodyOptional {
			return nil, false
		}
		return missing, true
	}
	v := reflect.ValueOf(dst).Elem()
	d := &decoder{}
	planFor(v.Type()).decodeObject(d, obj, v, []any{"body"})
	return d.errs, false
}

// mergeFieldErrors adds the domain's errors to the type errors, dropping a
// domain error at or below a loc that already has a type error (a field of
// the wrong type is unset for the domain, which then calls it missing), and
// orders all of them by the input's field order, as Pydantic does.
func mergeFieldErrors(typeErrs, domainErrs []agentphone.FieldError, input reflect.Type) []agentphone.FieldError {
	out := slices.Clone(typeErrs)
	for _, de := range domainErrs {
		covered := false
		for _, te := range typeErrs {
			if hasLocPrefix(de.Loc, te.Loc) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, de)
		}
	}
	order := map[string]int{}
	for i, f := range planFor(input).fields {
		order[f.name] = i
	}
	rank := func(loc []any) int {
		if len(loc) < 2 {
			return -1
		}
		if name, ok := loc[1].(string); ok {
			if i, ok := order[name]; ok {
				return i
			}
		}
		return len(order)
	}
	slices.SortStableFunc(out, func(a, b agentphone.FieldError) int { return rank(a.Loc) - rank(b.Loc) })
	return out
}

func hasLocPrefix(loc, prefix []any) bool {
	if len(prefix) > len(loc) {
		return false
	}
	for i := range prefix {
		if loc[i] != prefix[i] {
			return false
		}
	}
	return true
}

// decoder collects the errors of one body.
type decoder struct {
	errs []agentphone.FieldError
}

func (d *decoder) fail(msg, typ string, loc []any) {
	d.errs = append(d.errs, agentphone.FieldError{Loc: loc, Msg: msg, Type: typ})
}

// child returns loc extended by elem, never sharing loc's backing array.
func child(loc []any, elem any) []any {
	out := make([]any, len(loc)+1)
	copy(out, loc)
	out[len(loc)] = elem
	return out
}

// decodeFunc decodes the JSON value raw into v. It returns false when raw
// itself has the wrong type (the error is recorded at loc); errors deeper
// inside raw are recorded but do not make it return false.
type decodeFunc func(d *decoder, raw []byte, v reflect.Value, loc []any) bool

// structPlan decodes one input struct type.
type structPlan struct {
	name   string // the model name used in model_type messages
	fields []fieldPlan
}

type fieldPlan struct {
	name  string // JSON key
	index int
	dec   decodeFunc
}

// plans caches a structPlan per type. It holds only values derived from Go
// types, like encoding/json's own cache, so sharing it is safe.
var plans sync.Map // reflect.Type → *structPlan

// modelNames gives input structs the names of the spec's schemas, used in
// Pydantic's model_type message.
var modelNames = map[reflect.Type]string{
	reflect.TypeFor[agentphone.CustomToolInput](): "CustomToolParam",
}

// planFor returns the plan of struct type t, building it on first use. It
// panics on a field type the decoder does not support: input structs are
// fixed at compile time, and New builds the plan of each of them so that a
// mistake stops the program at start. Recursive input types are not
// supported.
func planFor(t reflect.Type) *structPlan {
	if p, ok := plans.Load(t); ok {
		return p.(*structPlan)
	}
	p := &structPlan{name: t.Name()}
	if n, ok := modelNames[t]; ok {
		p.name = n
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		p.fields = append(p.fields, fieldPlan{name: name, index: i, dec: compile(f.Type)})
	}
	actual, _ := plans.LoadOrStore(t, p)
	return actual.(*structPlan)
}

func (p *structPlan) decodeObject(d *decoder, obj map[string]json.RawMessage, v reflect.Value, loc []any) {
	for _, f := range p.fields {
		if raw, ok := obj[f.name]; ok {
			f.dec(d, bytes.TrimSpace(raw), v.Field(f.index), child(loc, f.name))
		}
	}
}

var (
	optPkgPath = reflect.TypeFor[agentphone.Opt[int]]().PkgPath()
	rawType    = reflect.TypeFor[json.RawMessage]()
)

// isOpt reports whether t is an instance of agentphone.Opt.
func isOpt(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && t.PkgPath() == optPkgPath && strings.HasPrefix(t.Name(), "Opt[")
}

func isNull(raw []byte) bool { return string(raw) == "null" }

// compile returns the decoder of values of type t.
func compile(t reflect.Type) decodeFunc {
	if isOpt(t) {
		return compileOpt(t)
	}
	if t == rawType {
		return func(d *decoder, raw []byte, v reflect.Value, loc []any) bool {
			v.SetBytes(bytes.Clone(raw))
			return true
		}
	}
	switch t.Kind() {
	case reflect.String:
		return decodeString
	case reflect.Bool:
		return decodeBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return decodeInt
	case reflect.Float32, reflect.Float64:
		return decodeFloat
	case reflect.Slice:
		return compileSlice(t)
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			break
		}
		return compileMap(t)
	case reflect.Struct:
		return compileStruct(t)
	case reflect.Pointer:
		return compilePointer(t)
	}
	panic(fmt.Sprintf("httpapi: decode: unsupported input type %v", t))
}

// compileOpt decodes Opt[T]: null sets Set and Null; a value of the right
// type sets Set and Value; a value of the wrong type leaves the Opt unset, as
// if the key were absent.
func compileOpt(t reflect.Type) decodeFunc {
	set, _ := t.FieldByName("Set")
	null, _ := t.FieldByName("Null")
	value, _ := t.FieldByName("Value")
	inner := compile(value.Type)
	return func(d *decoder, raw []byte, v reflect.Value, loc []any) bool {
		if isNull(raw) {
			v.Field(set.Index[0]).SetBool(true)
			v.Field(null.Index[0]).SetBool(true)
			return true
		}
		if !inner(d, raw, v.Field(value.Index[0]), loc) {
			v.SetZero()
			return false
		}
		v.Field(set.Index[0]).SetBool(true)
		return true
	}
}

func decodeString(d *decoder, raw []byte, v reflect.Value, loc []any) bool {
	if len(raw) == 0 || raw[0] != '"' {
		d.fail("Input should be a valid string", "string_type", loc)
		return false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil { // cannot happen: the body is valid JSON
		d.fail("Input should be a valid string", "string_type", loc)
		return false
	}
	// PostgreSQL cannot store NUL in text, and no field of this API needs
	// it: refuse it the same way on every database.
	if strings.ContainsRune(s, 0) {
		d.fail("Value error, text must not contain NUL (\\u0000) characters", "value_error", loc)
		return false
	}
	v.SetString(s)
	return true
}

func decodeBool(d *decoder, raw []byte, v reflect.Value, loc []any) bool {
	switch string(raw) {
	case "true":
		v.SetBool(true)
	case "false":
		v.SetBool(false)
	default:
		d.fail("Input should be a valid boolean", "bool_type", loc)
		return false
	}
	return true
}

func isNumber(raw []byte) bool {
	return len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9')
}

// decodeInt accepts JSON integers and integral numbers such as 5.0 or 1e3.
// Values beyond the field's size saturate, so that the domain's range check
// reports them (Pydantic's integers are unbounded).
func decodeInt(d *decoder, raw []byte, v reflect.Value, loc []any) bool {
	if !isNumber(raw) {
		d.fail("Input should be a valid integer", "int_type", loc)
		return false
	}
	lo, hi := minMaxInt(v.Type().Bits())
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(raw), 64)
		switch {
		case ferr != nil && !errors.Is(ferr, strconv.ErrRange):
			d.fail("Input should be a valid integer", "int_type", loc)
			return false
		case f != math.Trunc(f):
			d.fail("Input should be a valid integer, got a number with a fractional part", "int_from_float", loc)
			return false
		case f >= math.MaxInt64:
			n = math.MaxInt64
		case f <= math.MinInt64:
			n = math.MinInt64
		default:
			n = int64(f)
		}
	}
	v.SetInt(min(max(n, lo), hi))
	return true
}

func minMaxInt(bits int) (int64, int64) {
	return -1 << (bits - 1), 1<<(bits-1) - 1
}

func decodeFloat(d *decoder, raw []byte, v reflect.Value, loc []any) bool {
	if !isNumber(raw) {
		d.fail("Input should be a valid number", "float_type", loc)
		return false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) { // ±Inf on overflow, left to range checks
		d.fail("Input should be a valid number", "float_type", loc)
		return false
	}
	v.SetFloat(f)
	return true
}

func compileSlice(t reflect.Type) decodeFunc {
	elem := compile(t.Elem())
	return func(d *decoder, raw []byte, v reflect.Value, loc []any) bool {
		var items []json.RawMessage
		if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &items) != nil {
			d.fail("Input should be a valid list", "list_type", loc)
			return false
		}
		s := reflect.MakeSlice(t, len(items), len(items))
		for i, item := range items {
			elem(d, bytes.TrimSpace(item), s.Index(i), child(loc, i))
		}
		v.Set(s)
		return true
	}
}

func compileMap(t reflect.Type) decodeFunc {
	elem := compile(t.Elem())
	return func(d *decoder, raw []byte, v reflect.Value, loc []any) bool {
		var obj map[string]json.RawMessage
		if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &obj) != nil {
			d.fail("Input should be a valid dictionary", "dict_type", loc)
			return false
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys) // errors in a stable order
		m := reflect.MakeMapWithSize(t, len(obj))
		for _, k := range keys {
			ev := reflect.New(t.Elem()).Elem()
			if elem(d, bytes.TrimSpace(obj[k]), ev, child(loc, k)) {
				m.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), ev)
			}
		}
		v.Set(m)
		return true
	}
}

func compileStruct(t reflect.Type) decodeFunc {
	p := planFor(t)
	return func(d *decoder, raw []byte, v reflect.Value, loc []any) bool {
		var obj map[string]json.RawMessage
		if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &obj) != nil {
			d.fail("Input should be a valid dictionary or instance of "+p.name, "model_type", loc)
			return false
		}
		p.decodeObject(d, obj, v, loc)
		return true
	}
}

func compilePointer(t reflect.Type) decodeFunc {
	elem := compile(t.Elem())
	return func(d *decoder, raw []byte, v reflect.Value, loc []any) bool {
		if isNull(raw) {
			v.SetZero()
			return true
		}
		p := reflect.New(t.Elem())
		if !elem(d, raw, p.Elem(), loc) {
			return false
		}
		v.Set(p)
		return true
	}
}
