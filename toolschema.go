package agentphone

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// toolSchemaURL is where a tool's parameters schema is registered while it
// compiles. Nothing is ever loaded from it: it only anchors relative
// references, which then resolve to URLs the loader refuses.
const toolSchemaURL = "mem://tool/parameters.json"

// maxSchemaSummary bounds SchemaErrorSummary's text, in characters.
const maxSchemaSummary = 300

// CompileToolSchema compiles a custom tool's parameters, a JSON Schema
// (draft 2020-12 unless its $schema names another draft). The schema must be
// a JSON object whose top-level "type", when present, is "object": a tool's
// arguments are an object. References may only point inside the schema or to
// the standard metaschemas: a $ref or $schema naming any other URL (https,
// file or relative) fails, and nothing is ever fetched. The error's text is
// brief and fit for a client.
func CompileToolSchema(raw json.RawMessage) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parameters is not valid JSON: %v", err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, errors.New("parameters must be a JSON object")
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(refuseLoader{})
	if err := c.AddResource(toolSchemaURL, doc); err != nil {
		return nil, fmt.Errorf("parameters is not a valid JSON Schema: %s", SchemaErrorSummary(err))
	}
	sch, err := c.Compile(toolSchemaURL)
	if err != nil {
		return nil, fmt.Errorf("parameters is not a valid JSON Schema: %s", SchemaErrorSummary(err))
	}
	if t, ok := obj["type"]; ok && t != "object" {
		return nil, errors.New("parameters must describe an object: its top-level type must be 'object'")
	}
	return sch, nil
}

// refuseLoader refuses to load any URL, so that compiling a schema never
// reads a file or the network. The standard metaschemas are built into the
// library and do not go through it.
type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) {
	return nil, errors.New("external schemas are not allowed")
}

// SchemaErrorSummary renders an error of CompileToolSchema's compiler or of
// Schema.Validate in one short line (at most 300 characters): the failing
// locations and why, e.g. "at '/city': got number, want string; missing
// property 'date'".
func SchemaErrorSummary(err error) string {
	var (
		sve *jsonschema.SchemaValidationError
		ve  *jsonschema.ValidationError
		le  *jsonschema.LoadURLError
		msg string
	)
	switch {
	case errors.As(err, &sve):
		msg = SchemaErrorSummary(sve.Err)
	case errors.As(err, &ve):
		var parts []string
		seen := map[string]bool{}
		var walk func(*jsonschema.ValidationError)
		walk = func(e *jsonschema.ValidationError) {
			if len(e.Causes) == 0 {
				m := strings.TrimPrefix(e.Error(), "at '': ")
				if !seen[m] {
					seen[m] = true
					parts = append(parts, m)
				}
				return
			}
			for _, c := range e.Causes {
				walk(c)
			}
		}
		walk(ve)
		msg = strings.Join(parts, "; ")
	case errors.As(err, &le):
		msg = fmt.Sprintf("references an external schema (%s), which is not allowed", strings.TrimPrefix(le.URL, "mem://tool/"))
	default:
		msg = err.Error()
	}
	msg = strings.ReplaceAll(msg, toolSchemaURL, "")
	msg = strings.Join(strings.Fields(msg), " ")
	if r := []rune(msg); len(r) > maxSchemaSummary {
		msg = string(r[:maxSchemaSummary-1]) + "…"
	}
	return msg
}
