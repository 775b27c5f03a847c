package signatures

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestParseExtensionResponseSkipsBadEntries(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	body := fmt.Sprintf(`{"signatures":[
	  {"schemaVersion":2,"name":"sha256:aa@1","type":"atomic","content":%q},
	  {"schemaVersion":1,"name":"old","type":"atomic","content":%q},
	  {"schemaVersion":2,"name":"other-type","type":"x509","content":%q},
	  {"schemaVersion":2,"name":"not-base64","type":"atomic","content":"***"},
	  {"schemaVersion":2,"name":"no-content","type":"atomic"},
	  {"schemaVersion":2,"name":"content-not-a-string","type":"atomic","content":{"a":1}},
	  {"schemaVersion":2,"name":"sha256:aa@2","type":"atomic","content":%q}]}`,
		b64([]byte("first")), b64([]byte("v1")), b64([]byte("x509")), b64([]byte("second")))
	sigs, skipped, err := ParseExtensionResponse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) != 2 || string(sigs[0].Content) != "first" || string(sigs[1].Content) != "second" {
		t.Fatalf("%d signatures", len(sigs))
	}
	if sigs[0].Source != SourceExtension || sigs[0].Type != TypeAtomic || sigs[0].Name != digest.FromString("first").Encoded() {
		t.Errorf("%+v", sigs[0])
	}
	var names []string
	for _, s := range skipped {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); got != "old,other-type,not-base64,no-content,content-not-a-string" {
		t.Errorf("skipped %s", got)
	}
}

func TestParseExtensionResponseCaps(t *testing.T) {
	entry := func(content []byte) map[string]any {
		return map[string]any{"schemaVersion": 2, "type": "atomic", "content": base64.StdEncoding.EncodeToString(content)}
	}
	oversized, _ := json.Marshal(map[string]any{"signatures": []any{entry([]byte(strings.Repeat("x", MaxSignatureSize+1)))}})
	if _, _, err := ParseExtensionResponse(oversized); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized: %v", err)
	}
	var many []map[string]any
	for i := range MaxSignatures + 1 {
		many = append(many, entry([]byte{byte(i)}))
	}
	body, _ := json.Marshal(map[string]any{"signatures": many})
	if _, _, err := ParseExtensionResponse(body); !errors.Is(err, ErrTooManySignatures) {
		t.Errorf("%d signatures: %v", MaxSignatures+1, err)
	}
	body, _ = json.Marshal(map[string]any{"signatures": many[:MaxSignatures]})
	if sigs, _, err := ParseExtensionResponse(body); err != nil || len(sigs) != MaxSignatures {
		t.Errorf("%d signatures: %d, %v", MaxSignatures, len(sigs), err)
	}
	if _, _, err := ParseExtensionResponse([]byte(`{"signatures":`)); err == nil {
		t.Error("truncated JSON: no error")
	}
	if sigs, _, err := ParseExtensionResponse([]byte(`{}`)); err != nil || len(sigs) != 0 {
		t.Errorf("no signatures: %v %v", sigs, err)
	}
}
