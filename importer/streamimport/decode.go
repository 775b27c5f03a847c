package streamimport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	imagev1 "github.com/openshift/api/image/v1"
	yaml3 "go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// chunk is one document of a file, padded with newlines so that every
// parser counts lines from the top of the file.
type chunk struct {
	line int
	data []byte
}

var docSeparator = regexp.MustCompile(`^---(\s.*)?$`)

// splitDocuments cuts a file into documents: a JSON stream value by value,
// YAML at its --- lines.
func splitDocuments(data []byte) ([]chunk, error) {
	pad := func(line int, b []byte) chunk { return chunk{line, append(bytes.Repeat([]byte("\n"), line-1), b...)} }
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		var out []chunk
		dec := json.NewDecoder(bytes.NewReader(data))
		for {
			var raw json.RawMessage
			err := dec.Decode(&raw)
			if err == io.EOF {
				return out, nil
			}
			if err != nil {
				var se *json.SyntaxError
				if errors.As(err, &se) {
					return out, fmt.Errorf("line %d: %w", 1+bytes.Count(data[:se.Offset], []byte("\n")), err)
				}
				return out, err
			}
			end := int(dec.InputOffset())
			start := end - len(raw)
			out = append(out, pad(1+bytes.Count(data[:start], []byte("\n")), raw))
		}
	}
	var out []chunk
	lines := strings.SplitAfter(string(data), "\n")
	start, cur := 1, []string{}
	for i, l := range lines {
		if docSeparator.MatchString(strings.TrimRight(l, "\r\n")) {
			out = append(out, pad(start, []byte(strings.Join(cur, ""))))
			start, cur = i+1, []string{"   " + strings.TrimPrefix(l, "---")}
			continue
		}
		cur = append(cur, l)
	}
	return append(out, pad(start, []byte(strings.Join(cur, "")))), nil
}

// Parse reads the ImageStreamImport documents of one
// file (name is for messages): YAML documents separated by ---, a JSON
// stream, and kind: List of them. Decoding is strict: unknown and duplicate
// fields, wrong types, a wrong kind or apiVersion are errors, and so is
// every Validate finding; each error names the file, the
// line, the document (and list item) and the field. Valid documents come
// back defaulted (Default), with status cleared.
func Parse(name string, data []byte) ([]*imagev1.ImageStreamImport, []error) {
	chunks, err := splitDocuments(data)
	var errs []error
	if err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}
	var docs []*imagev1.ImageStreamImport
	n := 0
	for _, c := range chunks {
		var node yaml3.Node
		nerr := yaml3.Unmarshal(c.data, &node)
		if nerr == nil && (len(node.Content) == 0 || node.Content[0].Tag == "!!null") {
			continue // an empty document: comments, or nothing between two ---
		}
		n++
		loc := docLocation{file: name, doc: n, line: c.line, item: -1}
		if nerr == nil {
			loc.node = node.Content[0]
			loc.line = loc.node.Line
		}
		js, err := yaml.YAMLToJSONStrict(c.data)
		if err != nil {
			errs = append(errs, loc.errorf("", "%v", err))
			continue
		}
		d, e := decodeDocument(loc, js)
		docs, errs = append(docs, d...), append(errs, e...)
	}
	return docs, errs
}

// docLocation says where a document is, for messages.
type docLocation struct {
	file       string
	doc, item  int
	line       int
	node       *yaml3.Node // the document's (or list item's) node, for lines of fields
	kind, name string
}

func (l docLocation) String() string {
	s := fmt.Sprintf("%s:%d: document %d", l.file, l.line, l.doc)
	if l.item >= 0 {
		s += fmt.Sprintf(", items[%d]", l.item)
	}
	if l.name != "" {
		s += " (" + l.kind + " " + l.name + ")"
	}
	return s
}

// errorf names the field's line when the field is found.
func (l docLocation) errorf(fieldPath, format string, args ...any) error {
	if line := lineOf(l.node, fieldPath); line > 0 {
		l.line = line
	}
	return fmt.Errorf("%s: "+format, append([]any{l}, args...)...)
}

var typeErr = regexp.MustCompile(`^json: cannot unmarshal (\S+) into Go struct field \w+\.(\S+) of type (\S+)$`)

// decodeDocument reads an ImageStreamImport or a List of them.
func decodeDocument(loc docLocation, js []byte) ([]*imagev1.ImageStreamImport, []error) {
	var head struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Items      []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(js, &head); err != nil {
		return nil, []error{loc.errorf("", "not an object: %v", err)}
	}
	switch head.Kind {
	case "List":
		var list struct {
			metav1.TypeMeta `json:",inline"`
			Metadata        metav1.ListMeta   `json:"metadata"`
			Items           []json.RawMessage `json:"items"`
		}
		if errs := strictDecode(loc, js, &list); len(errs) > 0 {
			return nil, errs
		}
		if list.APIVersion != "v1" {
			return nil, []error{loc.errorf("apiVersion", "apiVersion: Invalid value: %q: a List must be v1", list.APIVersion)}
		}
		var docs []*imagev1.ImageStreamImport
		var errs []error
		for i, raw := range list.Items {
			item := loc
			item.item, item.node = i, nodeAt(loc.node, fmt.Sprintf("items[%d]", i))
			if item.node != nil {
				item.line = item.node.Line
			}
			d, e := decodeImport(item, raw)
			docs, errs = append(docs, d...), append(errs, e...)
		}
		return docs, errs
	case "ImageStreamImport":
		return decodeImport(loc, js)
	case "":
		return nil, []error{loc.errorf("", "kind: Required value: want ImageStreamImport or a List of them")}
	}
	return nil, []error{loc.errorf("kind", "kind: Invalid value: %q: want ImageStreamImport or a List of them", head.Kind)}
}

func decodeImport(loc docLocation, js []byte) ([]*imagev1.ImageStreamImport, []error) {
	loc.kind = "ImageStreamImport"
	var named struct {
		Metadata struct{ Namespace, Name string } `json:"metadata"`
	}
	if json.Unmarshal(js, &named) == nil { // leniently first, to name the document in every message
		loc.name = named.Metadata.Namespace + "/" + named.Metadata.Name
	}
	var isi imagev1.ImageStreamImport
	if errs := strictDecode(loc, js, &isi); len(errs) > 0 {
		return nil, errs
	}
	loc.name = isi.Namespace + "/" + isi.Name
	switch isi.APIVersion {
	case imagev1.GroupVersion.String(), "v1":
	case "":
		return nil, []error{loc.errorf("", "apiVersion: Required value: want %s", imagev1.GroupVersion)}
	default:
		return nil, []error{loc.errorf("apiVersion", "apiVersion: Invalid value: %q: want %s", isi.APIVersion, imagev1.GroupVersion)}
	}
	isi.Status = imagev1.ImageStreamImportStatus{} // the server's to fill, as OpenShift ignores it on create
	Default(&isi, "")
	var errs []error
	for _, fe := range Validate(&isi) {
		errs = append(errs, loc.errorf(fe.Field, "%s", fe.Error()))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return []*imagev1.ImageStreamImport{&isi}, nil
}

// strictDecode refuses unknown and duplicate fields and wrong types, each
// error naming its field and line; field names are case-sensitive.
func strictDecode(loc docLocation, js []byte, v any) []error {
	strict, err := kjson.UnmarshalStrict(js, v, kjson.DisallowUnknownFields, kjson.DisallowDuplicateFields)
	if err != nil {
		if m := typeErr.FindStringSubmatch(err.Error()); m != nil {
			return []error{loc.errorf(m[2], "%s: Invalid value: a %s where a %s belongs", m[2], m[1], m[3])}
		}
		return []error{loc.errorf("", "%v", err)}
	}
	var errs []error
	for _, e := range strict {
		msg := e.Error()
		path := msg
		if i, j := strings.IndexByte(msg, '"'), strings.LastIndexByte(msg, '"'); i >= 0 && j > i {
			path = msg[i+1 : j]
		}
		errs = append(errs, loc.errorf(path, "%s", msg))
	}
	return errs
}

// lineOf finds the line of a field path (spec.images[0].from.kind,
// metadata.annotations[regimport.io/x]) in a YAML node, or of the deepest
// part of it that exists; 0 when there is no node.
func lineOf(n *yaml3.Node, fieldPath string) int {
	if n == nil {
		return 0
	}
	line := n.Line
	for _, seg := range splitPath(fieldPath) {
		next := child(n, seg)
		if next == nil {
			break
		}
		n, line = next, next.Line
	}
	return line
}

func nodeAt(n *yaml3.Node, fieldPath string) *yaml3.Node {
	for _, seg := range splitPath(fieldPath) {
		if n = child(n, seg); n == nil {
			return nil
		}
	}
	return n
}

// splitPath cuts a field path at dots outside brackets; a [..] is a segment.
func splitPath(p string) []string {
	var segs []string
	cur := ""
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '.':
			if cur != "" {
				segs = append(segs, cur)
			}
			cur = ""
		case '[':
			if cur != "" {
				segs = append(segs, cur)
			}
			j := strings.IndexByte(p[i:], ']')
			if j < 0 {
				return append(segs, p[i+1:])
			}
			segs, cur, i = append(segs, p[i+1:i+j]), "", i+j
		default:
			cur += string(c)
		}
	}
	if cur != "" {
		segs = append(segs, cur)
	}
	return segs
}

// child is a mapping's value by key (its key node, whose line is the
// field's) or a sequence's item by index.
func child(n *yaml3.Node, seg string) *yaml3.Node {
	if n == nil {
		return nil
	}
	for n.Kind == yaml3.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml3.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == seg {
				v := *n.Content[i+1] // a copy, at the key's line
				v.Line = n.Content[i].Line
				return &v
			}
		}
	case yaml3.SequenceNode:
		if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i]
		}
	}
	return nil
}
