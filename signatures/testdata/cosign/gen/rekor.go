package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/go-openapi/runtime"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	_ "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1"         // the entry kinds cosign uploads
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1" //
	"github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// rekorLog is a transparency log on loopback answering the one call of the
// Rekor v1 API that cosign makes when it signs (POST /api/v1/log/entries).
// A real Rekor needs Trillian and a database, which this generator cannot
// start; what a real part can do is still done by one: the proposed entry is
// validated and canonicalized by Rekor's own entry types (which check the
// signature over the envelope), the checkpoint is made by Rekor's own
// code, and the tree is RFC 6962's. What is written by hand is the log's
// bookkeeping: every entry is the only leaf of its own tree (log index 0,
// tree size 1, root hash the leaf hash), and the signed entry timestamp is
// the log key's ECDSA signature over the canonical JSON of body, integrated
// time, log ID and index, as Rekor signs it.
type rekorLog struct {
	srv    *http.Server
	ln     net.Listener
	key    *ecdsa.PrivateKey
	signer signature.Signer
	logID  string
	start  time.Time
	mu     sync.Mutex
}

func startRekor() (*rekorLog, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	signer, err := signature.LoadECDSASignerVerifier(key, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	l := &rekorLog{ln: ln, key: key, signer: signer, logID: hex.EncodeToString(sum[:]), start: time.Now().Add(-time.Hour).Truncate(time.Second)}
	l.srv = &http.Server{Handler: http.HandlerFunc(l.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = l.srv.Serve(ln) }()
	return l, nil
}

func (l *rekorLog) url() string { return "http://" + l.ln.Addr().String() }

func (l *rekorLog) close() { _ = l.srv.Close() }

func (l *rekorLog) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/log/entries" {
		http.Error(w, "only POST /api/v1/log/entries", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	uuid, entry, err := l.add(r.Context(), body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("ETag", uuid)
	w.Header().Set("Location", "/api/v1/log/entries/"+uuid)
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]models.LogEntryAnon{uuid: entry})
}

// add validates and logs one proposed entry.
func (l *rekorLog) add(ctx context.Context, proposed []byte) (string, models.LogEntryAnon, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	pe, err := models.UnmarshalProposedEntry(bytes.NewReader(proposed), runtime.JSONConsumer())
	if err != nil {
		return "", models.LogEntryAnon{}, err
	}
	impl, err := types.CreateVersionedEntry(pe)
	if err != nil {
		return "", models.LogEntryAnon{}, err
	}
	canonical, err := types.CanonicalizeEntry(ctx, impl)
	if err != nil {
		return "", models.LogEntryAnon{}, err
	}
	leaf := sha256.Sum256(append([]byte{0}, canonical...)) // RFC 6962 leaf hash
	integrated := time.Now().Unix()
	var index int64
	b64 := base64.StdEncoding.EncodeToString(canonical)
	setPayload, err := json.Marshal(map[string]any{"body": b64, "integratedTime": integrated, "logID": l.logID, "logIndex": index})
	if err != nil {
		return "", models.LogEntryAnon{}, err
	}
	canonicalSET, err := jsoncanonicalizer.Transform(setPayload)
	if err != nil {
		return "", models.LogEntryAnon{}, err
	}
	setDigest := sha256.Sum256(canonicalSET)
	set, err := ecdsa.SignASN1(rand.Reader, l.key, setDigest[:])
	if err != nil {
		return "", models.LogEntryAnon{}, err
	}
	checkpoint, err := util.CreateAndSignCheckpoint(ctx, l.ln.Addr().String(), 1, 1, leaf[:], l.signer)
	if err != nil {
		return "", models.LogEntryAnon{}, err
	}
	rootHash, cp, size := hex.EncodeToString(leaf[:]), string(checkpoint), int64(1)
	entry := models.LogEntryAnon{Body: b64, IntegratedTime: &integrated, LogID: &l.logID, LogIndex: &index,
		Verification: &models.LogEntryAnonVerification{SignedEntryTimestamp: set,
			InclusionProof: &models.InclusionProof{Checkpoint: &cp, Hashes: []string{}, LogIndex: &index, RootHash: &rootHash, TreeSize: &size}}}
	return hex.EncodeToString(leaf[:]), entry, nil
}

// publicKeyPEM is the log's public key, as containers-policy.json's
// rekorPublicKeyPath reads it.
func (l *rekorLog) publicKeyPEM() ([]byte, error) {
	return cryptoutils.MarshalPublicKeyToPEM(l.key.Public())
}

// trustedRoot is a trusted_root.json naming this log only.
func (l *rekorLog) trustedRoot() ([]byte, error) {
	id, _ := hex.DecodeString(l.logID)
	tl := &root.TransparencyLog{BaseURL: l.url(), ID: id, HashFunc: crypto.SHA256, PublicKey: l.key.Public(), SignatureHashFunc: crypto.SHA256,
		ValidityPeriodStart: l.start}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, nil, nil, nil, map[string]*root.TransparencyLog{l.logID: tl})
	if err != nil {
		return nil, err
	}
	return tr.MarshalJSON()
}
