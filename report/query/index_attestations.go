package query

// The report's attestation coverage (AttestationCoverage) counts BuildKit
// attestations too: an image with provenance in its index has provenance,
// whether or not its referrers were looked up. They are never verified
// (BuildKit does not sign them), so they count as unverified.

// indexAttestationsPacked is a column of the coverage query (alias m): the
// readable BuildKit attestations of the image, packed as fill reads them.
const indexAttestationsPacked = `,
			COALESCE((SELECT string_agg(b.predicate_type || '` + unitSep + `0` + unitSep + `', '` + recordSep + `' ORDER BY b.list_name, b.manifest, b.position)
				FROM index_attestations b WHERE b.image_name = m.image_name AND b.readable), '')`

// attestationsKnown is the coverage query's filter: images whose referrers
// were looked up, or that have BuildKit attestations.
const attestationsKnown = `(m.image_name IN (SELECT image_name FROM referrer_lookups) OR m.image_name IN (SELECT image_name FROM index_attestations))`

// indexAttestationsUnknown narrows "referrers never looked up" to images
// without BuildKit attestations either.
const indexAttestationsUnknown = ` AND image_name NOT IN (SELECT image_name FROM index_attestations)`
