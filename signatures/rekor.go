package signatures

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
)

// rekorSETTime checks only the Rekor log's signature over a bundle (the Signed Entry
// Timestamp) and returns the integration time it attests. containers/image makes the
// full check (that the entry is for this signature, key and payload); this one tells
// a bad or foreign SET apart from a certificate problem and dates the signature.
func rekorSETTime(keys []*ecdsa.PublicKey, untrustedBundle string) (time.Time, error) {
	if untrustedBundle == "" {
		return time.Time{}, fmt.Errorf("no %s annotation", SigstoreBundleAnnotation)
	}
	var set struct {
		SignedEntryTimestamp []byte          `json:"SignedEntryTimestamp"`
		Payload              json.RawMessage `json:"Payload"`
	}
	if err := json.Unmarshal([]byte(untrustedBundle), &set); err != nil {
		return time.Time{}, fmt.Errorf("parsing the Rekor bundle: %w", err)
	}
	canonical, err := jsoncanonicalizer.Transform(set.Payload)
	if err != nil {
		return time.Time{}, fmt.Errorf("canonicalizing the Rekor bundle payload: %w", err)
	}
	sum := sha256.Sum256(canonical)
	for _, k := range keys {
		if ecdsa.VerifyASN1(k, sum[:], set.SignedEntryTimestamp) {
			var p struct {
				IntegratedTime int64 `json:"integratedTime"`
			}
			if err := json.Unmarshal(canonical, &p); err != nil {
				return time.Time{}, fmt.Errorf("parsing the Rekor bundle payload: %w", err)
			}
			return time.Unix(p.IntegratedTime, 0).UTC(), nil
		}
	}
	return time.Time{}, errors.New("the Rekor bundle is not signed by a Rekor key of the policy")
}
