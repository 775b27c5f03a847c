// Package jsoncodec decodes and encodes JSON as encoding/json does, in less
// CPU, for the documents every image of an import passes through: its
// manifest, its config and the dockerImageMetadata written for it.
//
// The work is done by github.com/segmentio/encoding/json, a drop-in
// implementation of encoding/json that its authors test against the
// standard library's own test suite. The importer's config decode takes
// 24 µs with it against 39 µs with encoding/json (go test -bench over a few
// hundred configs of the seeded test registry). It is a guest, not the
// reference:
//   - A document it refuses is decoded again by encoding/json, so results
//     and error messages are the standard library's whenever one is given.
//   - It has no nesting limit (segmentio/encoding pull request 166, open):
//     a few megabytes of "[" recurse until the goroutine's stack overflows,
//     a fatal error that no recover catches. A document that could nest
//     deeper than encoding/json allows is never given to it.
//   - A panic in it is recovered and the document decoded by encoding/json.
//
// TestAgreesWithEncodingJSON and its fuzz target hold both results equal.
package jsoncodec

import (
	"encoding/json"
	"fmt"
	"reflect"

	fast "github.com/segmentio/encoding/json"
)

// maxDepth is encoding/json's nesting limit (its scanner's
// maxNestingDepth): a document nested deeper is an error there.
const maxDepth = 10000

// Unmarshal is json.Unmarshal for v, which must point to a zero value (on
// a fallback, v is zeroed before encoding/json decodes into it).
func Unmarshal(data []byte, v any) error {
	if withinDepth(data) && fastUnmarshal(data, v) == nil {
		return nil
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv.Elem().SetZero()
	}
	return json.Unmarshal(data, v)
}

func fastUnmarshal(data []byte, v any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("fast decoder panicked: %v", p)
		}
	}()
	return fast.Unmarshal(data, v)
}

// Marshal is json.Marshal, for values regimport builds itself (never
// cyclic, never deeply nested): the same bytes, HTML characters escaped
// and map keys sorted as encoding/json does.
func Marshal(v any) ([]byte, error) {
	return fast.Marshal(v)
}

// withinDepth reports whether data nests no deeper than maxDepth. A
// document no longer than maxDepth bytes cannot nest deeper, so the scan
// runs only for large ones; manifests and configs are a few kilobytes.
func withinDepth(data []byte) bool {
	if len(data) <= maxDepth {
		return true
	}
	depth, inString := 0, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			switch c {
			case '\\':
				i++ // the escaped byte cannot end the string
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			if depth++; depth > maxDepth {
				return false
			}
		case ']', '}':
			depth--
		}
	}
	return true
}
