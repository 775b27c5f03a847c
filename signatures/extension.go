package signatures

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// extensionSchemaVersion is the only entry schema of the registry signature
// extension API (GET /extensions/v2/<name>/signatures/<digest>) that carries a blob.
const extensionSchemaVersion = 2

// ExtensionSkip says why ParseExtensionResponse left an entry out.
type ExtensionSkip struct {
	Index  int    // position in the response's "signatures" array
	Name   string // the entry's name, as the registry gave it
	Reason string
}

// ParseExtensionResponse reads the body of the registry signature extension API,
// {"signatures":[{"schemaVersion":2,"name":...,"type":"atomic","content":<base64>}]}.
// Entries of another schema version or type, without content, with content that is
// not base64 or above MaxSignatureSize are skipped, and reported in skipped so the
// caller can log them; the others become Signatures of type atomic named by their
// content (the registry's name is not used: it is not derived from the blob). A body
// above MaxManifestSize is ErrTooLarge, more than MaxSignatures usable entries is
// ErrTooManySignatures, and a body that is not the expected JSON is an error.
func ParseExtensionResponse(body []byte) (sigs []Signature, skipped []ExtensionSkip, err error) {
	if len(body) > MaxManifestSize {
		return nil, nil, fmt.Errorf("signature extension response: %w: %d bytes, cap %d", ErrTooLarge, len(body), MaxManifestSize)
	}
	var resp struct {
		Signatures []struct {
			SchemaVersion int             `json:"schemaVersion"`
			Name          string          `json:"name"`
			Type          string          `json:"type"`
			Content       json.RawMessage `json:"content"` // decoded per entry: one bad entry must not spoil the rest
		} `json:"signatures"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, nil, fmt.Errorf("signature extension response: %w", err)
	}
	for i, e := range resp.Signatures {
		skip := func(reason string) { skipped = append(skipped, ExtensionSkip{Index: i, Name: e.Name, Reason: reason}) }
		if e.SchemaVersion != extensionSchemaVersion {
			skip(fmt.Sprintf("schemaVersion %d, not %d", e.SchemaVersion, extensionSchemaVersion))
			continue
		}
		if e.Type != TypeAtomic {
			skip(fmt.Sprintf("type %q, not %q", e.Type, TypeAtomic))
			continue
		}
		var encoded string
		if err := json.Unmarshal(e.Content, &encoded); err != nil || encoded == "" {
			skip("content is missing or not a string")
			continue
		}
		if base64.StdEncoding.DecodedLen(len(encoded)) > MaxSignatureSize+2 { // +2: padding slack
			skip(fmt.Sprintf("content above %d bytes", MaxSignatureSize))
			continue
		}
		content, err := base64.StdEncoding.DecodeString(encoded)
		if err != nil {
			skip(fmt.Sprintf("content is not base64: %v", err))
			continue
		}
		if len(content) > MaxSignatureSize {
			skip(fmt.Sprintf("content above %d bytes", MaxSignatureSize))
			continue
		}
		if len(sigs) == MaxSignatures {
			return nil, nil, fmt.Errorf("signature extension response: %w: more than %d signatures", ErrTooManySignatures, MaxSignatures)
		}
		s := Signature{Source: SourceExtension, Type: TypeAtomic, Content: content}
		s.Name = SignatureName(s)
		sigs = append(sigs, s)
	}
	return sigs, skipped, nil
}
