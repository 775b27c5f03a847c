// Package signatures verifies container image signatures offline and turns each
// one into an OpenShift ImageSignature record (github.com/openshift/api/image/v1).
//
// # What it does
//
// The importer fetches signature blobs and hands them, with the manifest they claim
// to sign, to [Verifier.Verify]. The fetch helpers need no registry auth of their own:
//
//   - [LoadRegistries] reads a registries.d directory once; [Registries.LookasideBase]
//     gives a repository's lookaside URL and whether sigstore attachments are enabled
//     for it, and [FetchLookaside] reads signature-1, signature-2, ... from it (HTTP or
//     file://) until the first one missing.
//   - [ParseExtensionResponse] reads the registry signature extension API's answer.
//   - [ParseSigstoreAttachment] reads the manifest at [SigstoreAttachmentTag];
//     [SigstoreLayer.WithPayload] turns a layer and its fetched payload blob into a
//     Signature.
//   - [Verifier.RequiresSignatures] and [Verifier.RequiresSigstoreAttachments] tell
//     whether the policy in scope for a repository needs them at all.
//
// Verification needs no network:
// it evaluates containers-policy.json with go.podman.io/image/v5/signature for the
// image as a whole (the [Verdict]), and checks each blob on its own against the keys
// of the policy requirements that apply to the image's repository, so that every
// signature gets its own Trusted and ForImage conditions, and, only when it verified,
// its claims (identity, digest, creator, timestamp), signing time and signer.
//
// Rejection is a result, not an error: a signature by an unknown key, for another
// digest, for an identity the policy does not accept, or that does not even parse is
// recorded with Trusted=False and a machine-readable reason (Reason* constants).
// Verify returns an error only when the call itself cannot proceed (a cancelled
// context, a manifest that does not match its digest, a temporary directory that
// cannot be written).
//
// # Conditions
//
// Every ImageSignature carries the conditions Trusted and ForImage, both stamped with
// Options.Now:
//
//   - Trusted=True, reason Verified: a key of a requirement in scope verified the blob,
//     the signed digest is this manifest's and the policy's signedIdentity rule accepts
//     the signed docker-reference. ForImage=True. ImageIdentity, SignedClaims, Created,
//     IssuedTo (and IssuedBy for certificates) are filled.
//   - Trusted=False: the policy was consulted and does not vouch for the blob. ForImage
//     is False when the blob verified but names another digest (DigestMismatch) or an
//     identity the policy does not accept (IdentityNotAccepted); otherwise Unknown.
//   - Trusted=Unknown: nothing was evaluated — no policy configured (NoPolicy) or the
//     signature lies beyond the [MaxSignatures] cap (TooManySignatures).
//
// As OpenShift's validation requires, ImageIdentity, SignedClaims, IssuedBy and
// IssuedTo stay empty unless Trusted is True. SignedClaims keys are the Claim*
// constants. IssuedTo.PublicKeyID is the OpenPGP primary-key fingerprint (upper-case
// hex, as gpg prints it) for simple signing, and the SHA-256 of the PKIX DER public
// key (lower-case hex) for sigstore.
//
// # Evidence
//
// Beside each record, [Result].Evidence (and [Attestation].Evidence) says who
// signed, when and on what evidence, in flat fields a catalog row can hold:
// the key fingerprint, or the certificate's subject, CA, OIDC issuer and
// validity; the signing time with its [TimeSource] and whether a third party
// attested it (a transparency-log entry or an RFC 3161 timestamp the verifier
// checked, notation's countersignature included when notation-go verified it
// against a tsa trust store) or only the signer claims it (OpenPGP creation time, cosign's
// optional.timestamp, notation's signing time); and whether log entries and
// timestamps were present and verified. Like the claims, the signer and time
// fields are only filled for Trusted signatures. Evidence is computed from the
// bytes and the policy alone, by the same checks that set the conditions.
//
// # Signature formats
//
// "atomic" (simple signing): a non-detached OpenPGP message over the JSON payload,
// verified with signedBy requirements of keyType GPGKeys. "sigstore" (cosign):
// the payload JSON plus the base64 signature annotation, verified with sigstoreSigned
// requirements: public keys (keyPath, keyPaths, keyData, keyDatas, optionally with a
// Rekor public key), Fulcio (caPath/caData, oidcIssuer, subjectEmail with a Rekor
// public key) or PKI (caRootsPath, ...). The certificate and Rekor checks are made by
// containers/image; this package reads the signer's names from the certificate once
// that evaluation accepted it.
//
// The stored Content of a sigstore ImageSignature is the JSON object
// {"mimeType","payload","annotations"} (the form containers/image persists
// sigstore signatures in), so that a stored record can be verified again; atomic
// records store the OpenPGP blob as found.
//
// # Signatures stored as OCI 1.1 referrers
//
// "sigstore-bundle" records hold a sigstore bundle as cosign v3 writes it and are
// verified through sigstore-go against the same sigstoreSigned requirements (see
// bundle.go for the mapping; --sigstore-trusted-root for keyless ones); a verified
// bundle satisfies its requirement where containers/image alone would find no
// signature. "notation" records hold a JWS or COSE envelope, verified through
// notation-go against a notation trust policy and trust store (notation.go); an
// image in a statement's scope then also needs one trusted notation signature.
// [Verifier.VerifyAttestation] judges in-toto attestations the same way. Referrers
// that could not be read or lie beyond the cap are records too ([UnreadableReferrer],
// [ReferrersBeyondCap]).
//
// # Limits
//
// Reads are capped as containers/image caps them: [MaxSignatureSize] per blob and
// [MaxSignatures] per image. The policy and every key file it names are read once by
// [NewVerifier]; containers/image itself re-reads key files on each evaluation, so
// replacing them while a Verifier is in use gives inconsistent results. Only the
// "docker" transport scopes and the default of the policy are consulted.
//
// Sigstore signatures reach containers/image through a short-lived directory in the
// dir: transport format (its public ImageSource interface carries simple signatures
// only); see [Options].TempDir. Simple signatures stay in memory.
//
// A Verifier and a [Registries] are safe for concurrent use. The package logs through
// the *slog.Logger it is given (none: discarded); containers/image logs through the
// global logrus logger at debug level.
package signatures
