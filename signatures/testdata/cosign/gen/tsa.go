package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"io"
	"math/big"
	"net"
	"net/http"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// tsa is an RFC 3161 timestamp authority on loopback, answering the
// sigstore TSA API (POST a DER TimeStampReq, get a DER TimeStampResp), with
// a root and a timestamping leaf of its own that trusted_root.json names.
type tsa struct {
	srv        *http.Server
	ln         net.Listener
	root, leaf *x509.Certificate
	key        *ecdsa.PrivateKey
}

func startTSA() (*tsa, error) {
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "regimport fixture TSA root", Organization: []string{"regimport fixtures"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(20, 0, 0), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	if err != nil {
		return nil, err
	}
	rootCert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	// RFC 3161 2.3: the only extended key usage, and critical.
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "regimport fixture TSA", Organization: []string{"regimport fixtures"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(20, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}}}
	if der, err = x509.CreateCertificate(rand.Reader, leafTmpl, rootCert, key.Public(), rootKey); err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	t := &tsa{ln: ln, root: rootCert, leaf: leaf, key: key}
	t.srv = &http.Server{Handler: http.HandlerFunc(t.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = t.srv.Serve(ln) }()
	return t, nil
}

func (t *tsa) url() string { return "http://" + t.ln.Addr().String() + "/api/v1/timestamp" }

func (t *tsa) close() { _ = t.srv.Close() }

func (t *tsa) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil || r.Method != http.MethodPost {
		http.Error(w, "POST a TimeStampReq", http.StatusBadRequest)
		return
	}
	req, err := timestamp.ParseRequest(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ts := timestamp.Timestamp{HashAlgorithm: req.HashAlgorithm, HashedMessage: req.HashedMessage, Time: time.Now().UTC().Truncate(time.Second),
		Nonce: req.Nonce, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2}, AddTSACertificate: req.Certificates,
		SerialNumber: big.NewInt(time.Now().UnixNano()), ExtraExtensions: req.Extensions}
	resp, err := ts.CreateResponseWithOpts(t.leaf, t.key, crypto.SHA256)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	_, _ = w.Write(resp)
}

// trustedRoot is a trusted_root.json naming this authority only.
func (t *tsa) trustedRoot() ([]byte, error) {
	auth := &root.SigstoreTimestampingAuthority{Root: t.root, Leaf: t.leaf, URI: t.url(), ValidityPeriodStart: t.leaf.NotBefore}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, nil, nil, []root.TimestampingAuthority{auth}, nil)
	if err != nil {
		return nil, err
	}
	return tr.MarshalJSON()
}
