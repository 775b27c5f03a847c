-- 0002: signatures and the policy's verdict per image.

-- One row per signature found for an image, with the raw material needed to
-- verify it again offline and the ImageSignature as served.
CREATE TABLE signatures (
    image_name         TEXT NOT NULL REFERENCES images (name) ON DELETE CASCADE,
    name               TEXT NOT NULL,            -- <imageName>@<signatureName>
    position           INTEGER NOT NULL,         -- order found
    source             TEXT NOT NULL,            -- lookaside, extension, sigstore
    type               TEXT NOT NULL,            -- atomic, sigstore
    content            BLOB NOT NULL,            -- the signature blob (sigstore: the payload)
    sigstore_signature TEXT,                     -- sigstore: base64 signature over content
    certificate        TEXT,
    chain              TEXT,
    bundle             TEXT,
    trusted            TEXT NOT NULL,            -- condition Trusted: True, False, Unknown
    reason             TEXT NOT NULL DEFAULT '', -- its reason (WrongKey, DigestMismatch, ...)
    signer             TEXT NOT NULL DEFAULT '', -- issuedTo: key fingerprint or certificate subject, when trusted
    object             TEXT NOT NULL,            -- the ImageSignature JSON as served
    PRIMARY KEY (image_name, name)
) WITHOUT ROWID;
CREATE INDEX signatures_by_signer ON signatures (signer);

-- The policy's verdict for the image as a whole, served as the annotations
-- regimport.io/signature-verdict and regimport.io/signature-reason.
ALTER TABLE images ADD COLUMN signature_verdict TEXT;   -- accepted, rejected, no-policy; NULL: never evaluated
ALTER TABLE images ADD COLUMN signature_reason TEXT;
