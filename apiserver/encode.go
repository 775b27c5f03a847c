package apiserver

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// outputKind is what a client asked to get back for objects.
type outputKind int

const (
	asObject  outputKind = iota // the objects themselves
	asTable                     // a meta.k8s.io Table, as kubectl get asks
	asPartial                   // PartialObjectMetadata, as metadata informers ask
)

// output is the negotiated response form of a read.
type output struct {
	kind        outputKind
	yaml        bool
	metaVersion string // v1 or v1beta1 for Table and PartialObjectMetadata
	include     metav1.IncludeObjectPolicy
	pretty      bool
}

type acceptClause struct {
	mediaType string
	params    map[string]string
	q         float64
	order     int
}

// negotiate reads the Accept header (in q order, then header order) and the
// table options, as the apiserver's negotiation does for JSON and YAML.
func negotiate(r *http.Request) (output, error) {
	out := output{pretty: isPrettyPrint(r), include: metav1.IncludeMetadata}
	if v := r.URL.Query().Get("includeObject"); v != "" {
		switch p := metav1.IncludeObjectPolicy(v); p {
		case metav1.IncludeNone, metav1.IncludeMetadata, metav1.IncludeObject:
			out.include = p
		default:
			return out, badRequest("unrecognized includeObject value: %q", v)
		}
	}
	accept := r.Header.Get("Accept")
	if strings.TrimSpace(accept) == "" {
		return out, nil
	}
	var clauses []acceptClause
	for i, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		clauses = append(clauses, acceptClause{mediaType: mt, params: params, q: q, order: i})
	}
	sort.SliceStable(clauses, func(i, j int) bool { return clauses[i].q > clauses[j].q })
	for _, c := range clauses {
		if c.q <= 0 {
			continue
		}
		switch c.mediaType {
		case "application/json", "application/*", "*/*":
		case "application/yaml":
			out.yaml = true
		default:
			continue
		}
		as := c.params["as"]
		if as == "" {
			out.kind = asObject
			return out, nil
		}
		if c.params["g"] != metav1.GroupName || (c.params["v"] != "v1" && c.params["v"] != "v1beta1") {
			out.yaml = false
			continue
		}
		out.metaVersion = c.params["v"]
		switch as {
		case "Table":
			out.kind = asTable
			return out, nil
		case "PartialObjectMetadata", "PartialObjectMetadataList":
			out.kind = asPartial
			return out, nil
		}
		out.yaml = false
	}
	return out, notAcceptable()
}

// isPrettyPrint is the apiserver's rule: ?pretty=, else indent for browsers and curl.
func isPrettyPrint(r *http.Request) bool {
	if strings.Contains(r.URL.RawQuery, "pretty") {
		if pp := r.URL.Query().Get("pretty"); pp != "" {
			pretty, _ := strconv.ParseBool(pp)
			return pretty
		}
	}
	ua := r.UserAgent()
	return strings.HasPrefix(ua, "curl") || strings.HasPrefix(ua, "Wget") || strings.HasPrefix(ua, "Mozilla/5.0")
}

func marshal(v any, pretty bool) ([]byte, error) {
	if pretty {
		return json.MarshalIndent(v, "", "  ")
	}
	return json.Marshal(v)
}

// writeJSON writes one object; an encoding failure becomes a plain 500.
func writeJSON(w http.ResponseWriter, code int, pretty bool, v any) {
	b, err := marshal(v, pretty)
	if err != nil {
		http.Error(w, "encoding the response failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// writeObject writes one object in the negotiated encoding.
func writeObject(w http.ResponseWriter, out output, v any) error {
	b, err := marshal(v, out.pretty)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	ct := "application/json"
	if out.yaml {
		if b, err = yaml.JSONToYAML(b); err != nil {
			return fmt.Errorf("encode response as YAML: %w", err)
		}
		ct = "application/yaml"
	} else {
		b = append(b, '\n')
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, err = w.Write(b)
	return err
}

// listEnvelope is a list with its items written separately: encoding/json
// puts the empty items array last, and listWriter splices the items in.
type listEnvelope struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`
	Items           []struct{} `json:"items"`
}

// listWriter streams a list: the envelope's head, then items one at a time,
// so that a large list never sits in memory as one document.
type listWriter struct {
	w      *bufio.Writer
	pretty bool
	n      int
}

const prettyItemIndent = "    " // two levels of two spaces: the list, then its items array

func startList(w io.Writer, pretty bool, envelope any) (*listWriter, error) {
	b, err := json.Marshal(envelope)
	if pretty {
		b, err = json.MarshalIndent(envelope, "", "  ")
	}
	if err != nil {
		return nil, fmt.Errorf("encode list: %w", err)
	}
	i := bytes.LastIndexByte(b, '[')
	if i < 0 || strings.Join(strings.Fields(string(b[i:])), "") != "[]}" {
		return nil, errors.New("encode list: the items must be the envelope's last field")
	}
	lw := &listWriter{w: bufio.NewWriterSize(w, 64<<10), pretty: pretty}
	_, err = lw.w.Write(b[:i+1])
	return lw, err
}

func (l *listWriter) add(v any) error {
	var b []byte
	var err error
	if l.pretty {
		b, err = json.MarshalIndent(v, prettyItemIndent, "  ")
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		return fmt.Errorf("encode list item: %w", err)
	}
	if l.n > 0 {
		l.w.WriteByte(',')
	}
	if l.pretty {
		l.w.WriteString("\n" + prettyItemIndent)
	}
	l.n++
	_, err = l.w.Write(b)
	return err
}

func (l *listWriter) close() error {
	switch {
	case l.pretty && l.n > 0:
		l.w.WriteString("\n  ]\n}\n")
	default:
		l.w.WriteString("]}\n")
	}
	return l.w.Flush()
}

// listSink writes a list in the negotiated form. JSON is streamed to w;
// YAML cannot be, so it is built in memory and converted.
type listSink struct {
	w    http.ResponseWriter
	out  output
	buf  *bytes.Buffer // YAML only
	list *listWriter
}

func newListSink(w http.ResponseWriter, out output, envelope any) (*listSink, error) {
	ls := &listSink{w: w, out: out}
	var dst io.Writer = w
	if out.yaml {
		ls.buf = &bytes.Buffer{}
		dst = ls.buf
	} else {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
	}
	lw, err := startList(dst, out.pretty && !out.yaml, envelope)
	if err != nil {
		return nil, err
	}
	ls.list = lw
	return ls, nil
}

func (ls *listSink) add(v any) error { return ls.list.add(v) }

func (ls *listSink) close() error {
	if err := ls.list.close(); err != nil {
		return err
	}
	if ls.buf == nil {
		return nil
	}
	b, err := yaml.JSONToYAML(ls.buf.Bytes())
	if err != nil {
		return fmt.Errorf("encode list as YAML: %w", err)
	}
	ls.w.Header().Set("Content-Type", "application/yaml")
	_, err = ls.w.Write(b)
	return err
}

// rawJSON wraps an object in a RawExtension for a Table row.
func rawJSON(v any) (runtime.RawExtension, error) {
	if v == nil {
		return runtime.RawExtension{}, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return runtime.RawExtension{}, fmt.Errorf("encode table row object: %w", err)
	}
	return runtime.RawExtension{Raw: b}, nil
}
