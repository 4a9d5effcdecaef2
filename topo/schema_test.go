package topo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// publishedSchema is the file editors fetch through SchemaID.
const publishedSchema = "../docs/lab.schema.json"

// TestSchemaPublished keeps docs/lab.schema.json equal to Schema(); go test ./topo
// -update (or make schema) rewrites it.
func TestSchemaPublished(t *testing.T) {
	got := Schema()
	if *update {
		if err := os.WriteFile(publishedSchema, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(publishedSchema)
	if err != nil {
		t.Fatalf("%v (make schema writes it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s is not what labctl schema prints; run make schema (-file +generated):\n%s", publishedSchema, diff)
	}
}

// shippedLabs are the lab files of the repository: the ones users start from and the
// ones tests compile.
func shippedLabs(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"../labs/*.yaml", "testdata/labs/*.yaml", "*/testdata/labs/*.yaml"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 4 {
		t.Fatalf("found only %d lab files: %v", len(files), files)
	}
	return files
}

// TestShippedLabsHaveModeline checks that every lab file names the schema on its
// first line, so editors with the YAML language server check it as it is typed.
func TestShippedLabsHaveModeline(t *testing.T) {
	want := "# yaml-language-server: $schema=" + SchemaID
	for _, f := range shippedLabs(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if first, _, _ := strings.Cut(string(data), "\n"); first != want {
			t.Errorf("%s: first line is %q, want %q", f, first, want)
		}
	}
}

// TestShippedLabsMatchSchema validates every lab file against the published schema
// with a real JSON Schema validator, as an editor would.
func TestShippedLabsMatchSchema(t *testing.T) {
	schema := compileSchema(t)
	for _, f := range shippedLabs(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := validateYAML(schema, data); err != nil {
			t.Errorf("%s does not match the schema: %v", f, err)
		}
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatalf("the schema does not compile: %v", err)
	}
	return s
}

// validateYAML converts YAML to the JSON an editor's language server validates.
func validateYAML(s *jsonschema.Schema, data []byte) error {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return err
	}
	js, err := json.Marshal(jsonKeys(v))
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

// jsonKeys turns YAML mappings with non-string keys (sysctls: {1: x}) into JSON
// objects, as YAML language servers do.
func jsonKeys(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = jsonKeys(e)
		}
		return v
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[fmt.Sprint(k)] = jsonKeys(e)
		}
		return out
	case []any:
		for i, e := range v {
			v[i] = jsonKeys(e)
		}
	}
	return v
}

// TestSchemaDefaultsValidate checks each default against the schema of its own
// property: editors insert defaults on completion, so one of the wrong type (the
// string "24" for an integer) would make the lab it completes invalid.
func TestSchemaDefaultsValidate(t *testing.T) {
	var root map[string]any
	if err := json.Unmarshal(Schema(), &root); err != nil {
		t.Fatal(err)
	}
	defs := root["$defs"].(map[string]any)
	checked := 0
	for name, def := range defs {
		for _, variant := range objectVariants(def) {
			props, _ := variant["properties"].(map[string]any)
			for key, prop := range props {
				p := prop.(map[string]any)
				d, ok := p["default"]
				if !ok {
					continue
				}
				checked++
				sub := map[string]any{"$defs": defs}
				for k, v := range p {
					if k != "default" {
						sub[k] = v
					}
				}
				if err := validateValue(sub, d); err != nil {
					t.Errorf("%s.%s: default %#v does not validate: %v", name, key, d, err)
				}
			}
		}
	}
	if checked < 20 {
		t.Fatalf("checked only %d defaults; the walk misses the schema's shape", checked)
	}
}

// objectVariants returns a definition's object schemas: itself, or the object branch
// of a shorthand's oneOf.
func objectVariants(def any) []map[string]any {
	m, _ := def.(map[string]any)
	if alts, ok := m["oneOf"].([]any); ok {
		var out []map[string]any
		for _, a := range alts {
			out = append(out, objectVariants(a)...)
		}
		return out
	}
	if m["type"] == "object" {
		return []map[string]any{m}
	}
	return nil
}

func validateValue(schema map[string]any, v any) error {
	data, err := json.Marshal(schema)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("default.json", doc); err != nil {
		return err
	}
	s, err := c.Compile("default.json")
	if err != nil {
		return err
	}
	js, _ := json.Marshal(v)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}
