package topo

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
)

// SchemaID is where the published schema lives; shipped labs reference it.
const SchemaID = "https://raw.githubusercontent.com/labctl/labctl/main/docs/lab.schema.json"

// Schema returns the JSON Schema (draft 2020-12) of lab files, generated from the Go
// types the decoder uses, so the two cannot drift apart.
func Schema() []byte {
	g := schemaGen{defs: map[string]any{}}
	root := g.object(reflect.TypeFor[Lab]())
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = SchemaID
	root["title"] = "labctl lab file (" + APIVersion + ")"
	root["$defs"] = g.defs
	data, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		panic(err) // maps of plain values always marshal
	}
	return append(data, '\n')
}

type schemaGen struct{ defs map[string]any }

func (g schemaGen) typeOf(t reflect.Type) map[string]any {
	if s, ok := reflect.New(t).Interface().(interface{ jsonSchema() map[string]any }); ok {
		return s.jsonSchema()
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.typeOf(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint16, reflect.Uint32:
		return map[string]any{"type": "integer"}
	case reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.typeOf(t.Elem())}
	case reflect.Map:
		// Values are scalars written as YAML pleases (sysctl: 1, label: "web").
		return map[string]any{"type": "object", "additionalProperties": g.mapValue(t.Elem())}
	case reflect.Struct:
		name := t.Name()
		if _, done := g.defs[name]; !done {
			g.defs[name] = true // placeholder: breaks recursion
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/$defs/" + name}
	}
	panic("topo: no schema for " + t.String())
}

func (g schemaGen) mapValue(t reflect.Type) map[string]any {
	if t.Kind() == reflect.String {
		return map[string]any{"type": []string{"string", "number", "boolean"}}
	}
	return g.typeOf(t)
}

func (g schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	for i := range t.NumField() {
		f := t.Field(i)
		key := yamlKey(f)
		if key == "" {
			continue
		}
		p := g.typeOf(f.Type)
		if types := f.Tag.Get("types"); types != "" {
			// A field the decoder reads from more scalar kinds than its Go type
			// suggests, e.g. targetPort: 8080 or targetPort: http.
			p = map[string]any{"type": strings.Split(types, ",")}
		}
		if doc := f.Tag.Get("doc"); doc != "" {
			p = withKey(p, "description", doc)
		}
		if enum := f.Tag.Get("enum"); enum != "" {
			p = withKey(p, "enum", strings.Split(enum, ","))
		}
		if d := f.Tag.Get("default"); d != "" {
			p = withKey(p, "default", typedDefault(f.Type, d))
		}
		if f.Tag.Get("required") == "true" {
			required = append(required, key)
		}
		props[key] = p
	}
	obj := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		obj["required"] = required
	}
	if _, ok := reflect.New(t).Interface().(scalarForm); ok {
		short := map[string]any{"type": "string"}
		if numericShorthand[t] {
			short = map[string]any{"type": []string{"integer", "string"}}
		}
		return map[string]any{"oneOf": []any{short, obj}}
	}
	return obj
}

// numericShorthand lists the objects whose one-word form may be a bare number:
// servers: [8080, "53/udp"], ports: [53, "53/udp"].
var numericShorthand = map[reflect.Type]bool{
	reflect.TypeFor[Server]():        true,
	reflect.TypeFor[ContainerPort](): true,
}

// typedDefault gives a default tag's text the JSON type of its field: editors insert
// defaults on completion, and "24" where an integer belongs would not validate.
func typedDefault(t reflect.Type, text string) any {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		if b, err := strconv.ParseBool(text); err == nil {
			return b
		}
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint16, reflect.Uint32:
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n
		}
	}
	return text
}

// withKey adds a key to a schema; a $ref gets wrapped because siblings of $ref are
// only honoured from draft 2019-09 on, and some editors still ignore them.
func withKey(s map[string]any, key string, v any) map[string]any {
	if _, isRef := s["$ref"]; isRef {
		s = map[string]any{"allOf": []any{s}}
	}
	s[key] = v
	return s
}
