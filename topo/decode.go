package topo

import (
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Meta records where an object of the lab file was written. The decoder fills it, so
// validation can point at the exact key that is wrong.
type Meta struct {
	pos    Pos
	fields map[string]Pos
}

// Pos is where the object starts.
func (m *Meta) Pos() Pos { return m.pos }

// At is where the value of the named key starts, or the object's position when the key
// was not written.
func (m *Meta) At(key string) Pos {
	if p, ok := m.fields[key]; ok {
		return p
	}
	return m.pos
}

// Has reports whether the key was written in the lab file.
func (m *Meta) Has(key string) bool { _, ok := m.fields[key]; return ok }

func (m *Meta) setMeta(p Pos, fields map[string]Pos) { m.pos, m.fields = p, fields }

type positioned interface{ setMeta(Pos, map[string]Pos) }

// scalarForm is implemented by objects that also accept a one-word shorthand,
// e.g. an interface given as just its network name.
type scalarForm interface{ fromScalar(string) error }

// shapeForm is implemented by values that may be written in more than one YAML shape
// (a list or a single scalar, a scalar or a mapping): they read their node themselves.
type shapeForm interface {
	decodeShape(d *decoder, n *yaml.Node, path string)
}

// Load reads and decodes a lab file (see Parse).
func Load(path string) (*Lab, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Problems{{File: path, Msg: fmt.Sprintf("cannot read lab file: %v", errors.Unwrap(err)), Hint: "check the path; lab files end in .yaml"}}
	}
	return Parse(path, data)
}

// Parse decodes lab file content strictly (unknown keys and wrong types are problems);
// file names it in problems. Compile does the semantic checks. With problems, the lab
// is still returned when the file was valid YAML, so all problems can be reported.
func Parse(file string, data []byte) (*Lab, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Problems{syntaxProblem(file, err)}
	}
	r := &report{file: file}
	lab := &Lab{}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		r.add(Pos{1, 1}, "start from labs/basic.yaml or run labctl schema", "the lab file is empty")
		return nil, r.err()
	}
	d := decoder{r: r}
	d.value(doc.Content[0], reflect.ValueOf(lab).Elem(), "")
	lab.File = file
	// The lab comes back even with problems, so Compile can report the rest too.
	return lab, r.err()
}

func syntaxProblem(file string, err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	p := Problem{File: file, Msg: "not valid YAML: " + msg, Hint: "check indentation (spaces, not tabs) and quoting around this line"}
	var line int
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
		p.Line, p.Col = line, 1
		if _, rest, ok := strings.Cut(msg, ": "); ok {
			p.Msg = "not valid YAML: " + rest
		}
	}
	return p
}

type decoder struct{ r *report }

func posOf(n *yaml.Node) Pos { return Pos{n.Line, n.Column} }

func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if v.CanAddr() {
		if sf, ok := v.Addr().Interface().(shapeForm); ok {
			sf.decodeShape(d, n, path)
			return
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		d.value(n, elem.Elem(), path)
		v.Set(elem)
	case reflect.Struct:
		d.object(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.r.add(posOf(n), "write a list: one '- item' per line, or [a, b]", "%s: expected a list", path)
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.value(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		d.mapping(n, v, path)
	default:
		d.scalar(n, v, path)
	}
}

func (d *decoder) object(n *yaml.Node, v reflect.Value, path string) {
	if sf, ok := v.Addr().Interface().(scalarForm); ok && n.Kind == yaml.ScalarNode {
		if err := sf.fromScalar(n.Value); err != nil {
			d.r.add(posOf(n), "or write it as an object with keys: "+strings.Join(yamlKeys(v.Type()), ", "), "%s: %v", path, err)
		}
		v.Addr().Interface().(positioned).setMeta(posOf(n), nil)
		return
	}
	if n.Kind != yaml.MappingNode {
		d.r.add(posOf(n), "keys: "+strings.Join(yamlKeys(v.Type()), ", "), "%s: expected an object", pathOr(path, "lab"))
		return
	}
	fields := map[string]Pos{}
	byKey := fieldsByKey(v.Type())
	pairs := mergedPairs(n)
	for i := 0; i+1 < len(pairs); i += 2 {
		key, val := pairs[i], pairs[i+1]
		idx, known := byKey[key.Value]
		if !known {
			d.r.add(posOf(key), unknownKeyHint(key.Value, yamlKeys(v.Type())), "%s: unknown key %q", pathOr(path, "lab"), key.Value)
			continue
		}
		if _, dup := fields[key.Value]; dup {
			d.r.add(posOf(key), "remove one of them", "%s: key %q is written twice", pathOr(path, "lab"), key.Value)
			continue
		}
		fields[key.Value] = valuePos(key, val)
		d.value(val, v.Field(idx), join(path, key.Value))
	}
	for key, idx := range byKey {
		if f := v.Type().Field(idx); f.Tag.Get("required") == "true" && fields[key] == (Pos{}) {
			d.r.add(posOf(n), requiredHint(key, f.Tag.Get("doc")), "%s: missing required key %q", pathOr(path, "lab"), key)
		}
	}
	if p, ok := v.Addr().Interface().(positioned); ok {
		p.setMeta(posOf(n), fields)
	}
}

// valuePos is where a value's text starts. A block scalar (|) starts on the line after
// its indicator, indented under its key: where line 0 of an iptables block really is.
func valuePos(key, val *yaml.Node) Pos {
	if val.Kind == yaml.ScalarNode && val.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return Pos{val.Line + 1, key.Column + 2}
	}
	return posOf(val)
}

// mergedPairs flattens YAML merge keys (<<: *anchor) into the mapping's own pairs;
// keys written in the mapping win over merged ones.
func mergedPairs(n *yaml.Node) []*yaml.Node {
	var own, merged []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value != "<<" || k.Tag != "!!merge" {
			own = append(own, k, v)
			continue
		}
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		sources := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			sources = v.Content
		}
		for _, src := range sources {
			if src.Kind == yaml.AliasNode {
				src = src.Alias
			}
			merged = append(merged, mergedPairs(src)...)
		}
	}
	for i := 0; i+1 < len(merged); i += 2 {
		if !slices.ContainsFunc(own, func(k *yaml.Node) bool { return k.Value == merged[i].Value }) {
			own = append(own, merged[i], merged[i+1])
		}
	}
	return own
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.r.add(posOf(n), "write key: value pairs, one per line", "%s: expected a mapping", path)
		return
	}
	m := reflect.MakeMap(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		if seen[key.Value] {
			d.r.add(posOf(key), "remove one of them", "%s: key %q is written twice", path, key.Value)
			continue
		}
		seen[key.Value] = true
		elem := reflect.New(v.Type().Elem()).Elem()
		d.value(val, elem, join(path, key.Value))
		m.SetMapIndex(reflect.ValueOf(key.Value), elem)
	}
	v.Set(m)
}

func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.r.add(posOf(n), scalarHint(v.Kind()), "%s: expected a %s, not a %s", path, kindName(v.Kind()), nodeKindName(n.Kind))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value)
	case reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if err != nil {
			d.r.add(posOf(n), "write true or false (unquoted)", "%s: expected true or false, got %q", path, n.Value)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint16, reflect.Uint32:
		i, err := strconv.ParseInt(n.Value, 0, 64)
		switch {
		case err != nil:
			d.r.add(posOf(n), "write digits only, without quotes, units or a decimal point, e.g. 1500", "%s: expected a whole number, got %q", path, n.Value)
		case v.CanInt() && !v.OverflowInt(i):
			v.SetInt(i)
		case v.CanUint() && i >= 0 && !v.OverflowUint(uint64(i)):
			v.SetUint(uint64(i))
		default:
			lo, hi := intRange(v.Type())
			d.r.add(posOf(n), fmt.Sprintf("use a number from %d to %d", lo, hi), "%s: %d is out of range", path, i)
		}
	case reflect.Float64:
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			d.r.add(posOf(n), "write a number without quotes or units, e.g. 0.5", "%s: expected a number, got %q", path, n.Value)
			return
		}
		v.SetFloat(f)
	default:
		panic(fmt.Sprintf("topo: no decoder for %s at %s", v.Type(), path))
	}
}

func fieldsByKey(t reflect.Type) map[string]int {
	out := map[string]int{}
	for i := range t.NumField() {
		if key := yamlKey(t.Field(i)); key != "" {
			out[key] = i
		}
	}
	return out
}

func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		if key := yamlKey(t.Field(i)); key != "" {
			keys = append(keys, key)
		}
	}
	return keys
}

func yamlKey(f reflect.StructField) string {
	key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if key == "-" || !f.IsExported() {
		return ""
	}
	return key
}

func unknownKeyHint(key string, known []string) string {
	return didYouMean(key, known, "known keys here: "+strings.Join(known, ", "))
}

// didYouMean names the candidate closest to name (at most two edits away, ignoring
// case) as a hint, or returns otherwise.
func didYouMean(name string, candidates []string, otherwise string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(name), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best != "" {
		return fmt.Sprintf("did you mean %q?", best)
	}
	return otherwise
}

// editDistance is the Levenshtein distance, for "did you mean" hints.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func pathOr(path, dflt string) string {
	if path == "" {
		return dflt
	}
	return path
}

// requiredHint says what to add for a missing key, with the first sentence of the
// key's documentation.
func requiredHint(key, doc string) string {
	first, _, _ := strings.Cut(doc, ". ")
	if first = strings.TrimSuffix(first, "."); first == "" {
		return "add the key " + key
	}
	return fmt.Sprintf("add the key %s (%s)", key, first)
}

// scalarHint says how to write a single value of kind k in place of a list or mapping.
func scalarHint(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "write true or false on the key's line"
	case reflect.String:
		return "write one value on the key's line; quote it if it starts with [ or {"
	default:
		return "write one number on the key's line"
	}
}

// intRange is the range of values an integer field of type t holds.
func intRange(t reflect.Type) (lo, hi int64) {
	bits := t.Bits()
	switch {
	case t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uintptr && bits < 63:
		return 0, 1<<bits - 1
	case t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uintptr:
		return 0, math.MaxInt64
	case bits < 64:
		return -1 << (bits - 1), 1<<(bits-1) - 1
	}
	return math.MinInt64, math.MaxInt64
}

func kindName(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	default:
		return "number"
	}
}

func nodeKindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	default:
		return "value"
	}
}
