package report

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"
)

// table is one table of the CSV and Markdown formats. Column names are the
// JSON field names; nested fields are joined with a dot.
type table struct {
	name, title string
	columns     []string
	rows        func(yield func([]string) bool) // rows as text
	note        string                          // Markdown only: a sentence under the title
}

// Tables are the names --table accepts, in report order.
var Tables = []string{"summary", "repositories", "signers", "signature-results", "rejection-reasons", "rejected-images",
	"tag-changes", "repository-changes", "image-changes", "failures", "runs", "largest-images", "shared-layers", "unreferenced-images", "size-histogram", "age-histogram", "inventory",
	"attestations", "no-provenance", "no-sbom", "mirrors", "mirror-lag", "policy-preview",
	"signatures", "unverified-times", "key-retired", "lineage"}

func checkTable(f Format, name string) error {
	if name == "" {
		return nil
	}
	if f != FormatCSV && f != FormatMarkdown {
		return usagef("--table is for csv and md")
	}
	if !slices.Contains(Tables, name) {
		return usagef("--table %q: want one of %s", name, strings.Join(Tables, ", "))
	}
	return nil
}

func itoa[T int | int64](n T) string { return strconv.FormatInt(int64(n), 10) }

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func stampPtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return stamp(*t)
}

func list(s []string) string { return strings.Join(s, "; ") }

// sliceRows turns a slice into table rows.
func sliceRows[T any](s []T, row func(T) []string) func(func([]string) bool) {
	return func(yield func([]string) bool) {
		for _, v := range s {
			if !yield(row(v)) {
				return
			}
		}
	}
}

func seqRows[T any](s iter.Seq[T], row func(T) []string) func(func([]string) bool) {
	return func(yield func([]string) bool) {
		for v := range s {
			if !yield(row(v)) {
				return
			}
		}
	}
}

var countColumns = []string{"images", "accepted", "rejected", "noPolicy", "signed", "signedAccepted", "unsigned", "notEvaluated"}

func countCells(c SignatureCounts) []string {
	return []string{itoa(c.Images), itoa(c.Accepted), itoa(c.Rejected), itoa(c.NoPolicy), itoa(c.Signed),
		itoa(c.SignedAccepted), itoa(c.Unsigned), itoa(c.NotEvaluated)}
}

func prefixed(prefix string, cols []string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = prefix + c
	}
	return out
}

// tables lists every table; streamed ones read the snapshot when iterated,
// and keep their first error in *errp.
func (r *renderer) tables(ctx context.Context, errp *error) []table {
	d := &r.doc
	s := d.Summary
	return append([]table{
		{name: "summary", title: "Summary", columns: []string{"field", "value"}, rows: sliceRows(summaryPairs(d), func(p [2]string) []string { return p[:] })},
		{name: "repositories", title: "Repositories", columns: append([]string{"name", "tags", "layers", "bytes", "sharedBytes"}, prefixed("signatures.", countColumns)...),
			rows: sliceRows(d.Repositories, func(v Repository) []string {
				return append([]string{v.Name, itoa(v.Tags), itoa(v.Layers), itoa(v.Bytes), itoa(v.SharedBytes)}, countCells(v.Signatures)...)
			})},
		{name: "signers", title: "Signers", note: "Keys and certificate subjects that verified signatures; a signature no policy key verified has no recorded signer.",
			columns: []string{"signer", "publicKeyID", "commonName", "organization", "issuerCommonName", "issuerOrganization", "types",
				"signatures", "images", "acceptedImages", "rejectedImages", "repositories", "firstSigned", "lastSigned"},
			rows: sliceRows(d.Signers, func(v Signer) []string {
				return []string{v.Signer, v.PublicKeyID, v.CommonName, v.Organization, v.IssuerCommonName, v.IssuerOrganization, list(v.Types),
					itoa(v.Signatures), itoa(v.Images), itoa(v.AcceptedImages), itoa(v.RejectedImages), list(v.Repositories), stampPtr(v.FirstSigned), stampPtr(v.LastSigned)}
			})},
		{name: "signature-results", title: "Signatures by result", columns: []string{"trusted", "reason", "signatures", "images"},
			rows: sliceRows(d.SignatureResults, reasonCells)},
		{name: "rejection-reasons", title: "Rejected images by reason", columns: []string{"trusted", "reason", "signatures", "images"},
			rows: sliceRows(d.RejectionReasons, reasonCells)},
		{name: "rejected-images", title: "Rejected images", columns: []string{"repository", "tags", "digest", "reason", "signatures", "signatureReasons"},
			rows: seqRows(r.rejected(ctx, errp), func(v RejectedImage) []string {
				return []string{v.Repository, list(v.Tags), v.Digest, v.Reason, itoa(v.Signatures), list(v.SignatureReasons)}
			})},
		{name: "tag-changes", title: "Tags added, moved or removed", note: fmt.Sprintf("From %s to %s: %d added, %d moved, %d removed (the registry no longer lists them, or answers 404 for them; their images stay).",
			d.Filter.From.Description, d.Filter.To.Description, s.Changes.TagsAdded, s.Changes.TagsMoved, derefInt(s.Changes.TagsRemoved)),
			columns: []string{"repository", "tag", "change", "from", "to", "at", "run"},
			rows: seqRows(r.tagChanges(ctx, errp), func(v TagChange) []string {
				return []string{v.Repository, v.Tag, v.Change, v.From, v.To, stamp(v.At), itoa(v.Run)}
			})},
		{name: "repository-changes", title: "Repositories removed", note: "Repositories missing from a complete /v2/_catalog listing; their tags were removed with them.",
			columns: []string{"repository", "change", "at", "run"},
			rows: sliceRows(d.RepositoryChanges, func(v RepositoryChange) []string {
				return []string{v.Repository, v.Change, stamp(v.At), itoa(v.Run)}
			})},
		{name: "image-changes", title: "Images added, verdicts changed", note: "For added images the verdict and signatures are as they are now; a verdict or signature result that changed between runs is listed with its repository, old -> new.",
			columns: []string{"digest", "repositories", "change", "at", "run", "from", "to", "signature", "signatureVerdict", "signatureReason", "signatures", "trustedSignatures"},
			rows: seqRows(r.imageChanges(ctx, errp), func(v ImageChange) []string {
				return []string{v.Digest, list(v.Repositories), v.Change, stamp(v.At), itoa(v.Run), v.From, v.To, v.Signature, v.SignatureVerdict, v.SignatureReason, itoa(v.Signatures), itoa(v.TrustedSignatures)}
			})},
		{name: "failures", title: "Import failures", columns: []string{"run", "reference", "reason", "at"},
			rows: seqRows(r.failures(ctx, errp), func(v Failure) []string { return []string{itoa(v.Run), v.Reference, v.Reason, stamp(v.At)} })},
		{name: "runs", title: "Import runs", columns: []string{"id", "startedAt", "finishedAt", "status", "command", "imported", "unchanged", "failed",
			"newImages", "tagsAdded", "tagsMoved", "tagsRemoved", "verificationChanges", "inRange"},
			rows: sliceRows(d.Runs, func(v Run) []string {
				return []string{itoa(v.ID), stamp(v.StartedAt), stampPtr(v.FinishedAt), v.Status, v.CommandLine(), itoa(v.Imported), itoa(v.Unchanged),
					itoa(v.Failed), itoa(v.NewImages), itoa(v.TagsAdded), itoa(v.TagsMoved), itoa(v.TagsRemoved), itoa(v.VerificationChanges), strconv.FormatBool(v.InRange)}
			})},
		{name: "largest-images", title: "Largest images", columns: []string{"digest", "mediaType", "size", "layers", "repositories", "tags"},
			rows: sliceRows(d.Storage.LargestImages, func(v LargeImage) []string {
				return []string{v.Digest, v.MediaType, itoa(v.Size), itoa(v.Layers), list(v.Repositories), list(v.Tags)}
			})},
		{name: "unreferenced-images", title: "Images no tag references", note: "Images the catalog keeps as an audit record after their last tag moved or was removed; `regimport prune --unreferenced-for DURATION` deletes them.",
			columns: []string{"digest", "dockerImageReference", "size", "since"},
			rows: sliceRows(d.UnreferencedImages, func(v UnreferencedImage) []string {
				return []string{v.Digest, v.DockerImageReference, itoa(v.Size), stamp(v.Since)}
			})},
		{name: "shared-layers", title: "Layers shared across repositories", note: fmt.Sprintf("%d layers (%s) are used in more than one repository; the %d most widely shared:",
			s.SharedLayers, humanBytes(s.SharedLayerBytes), len(d.Storage.SharedLayers)),
			columns: []string{"digest", "mediaType", "size", "repositories", "images"},
			rows: sliceRows(d.Storage.SharedLayers, func(v SharedLayer) []string {
				return []string{v.Digest, v.MediaType, itoa(v.Size), itoa(v.Repositories), itoa(v.Images)}
			})},
		{name: "size-histogram", title: "Image sizes", columns: []string{"label", "min", "max", "count"}, rows: sliceRows(d.Storage.SizeHistogram, bucketCells)},
		{name: "age-histogram", title: "Image ages (days since build)", note: fmt.Sprintf("%d images state no usable build time.", d.Storage.ImagesWithoutCreated),
			columns: []string{"label", "min", "max", "count"}, rows: sliceRows(d.Storage.AgeHistogram, bucketCells)},
		{name: "inventory", title: "Inventory", columns: []string{"repository", "tag", "digest", "mediaType", "kind", "artifactType", "architecture", "os", "variant",
			"platforms", "created", "size", "layers", "signatureVerdict", "signatureReason", "pullVerdict", "pullReason", "signatureStatus", "signatures", "trustedSignatures",
			"signers", "firstSeen", "firstRun", "tagUpdated", "parentLists"},
			rows: seqRows(r.inventory(ctx, errp), func(v InventoryRow) []string {
				return []string{v.Repository, v.Tag, v.Digest, v.MediaType, v.Kind, v.ArtifactType, v.Architecture, v.OS, v.Variant, list(v.Platforms),
					stampPtr(v.Created), itoa(v.Size), itoa(v.Layers), v.SignatureVerdict, v.SignatureReason, v.PullVerdict, v.PullReason, v.SignatureStatus,
					itoa(v.Signatures), itoa(v.TrustedSignatures), list(v.Signers), stamp(v.FirstSeen), itoa(v.FirstRun), stampPtr(v.TagUpdated), list(v.ParentLists)}
			})},
	}, append(append(append(append(r.attestationTables(), r.mirrorTables()...), r.policyPreviewTables()...), r.evidenceTables(ctx, errp)...), r.lineageTable(ctx, errp))...)
}

func reasonCells(v ReasonCount) []string {
	return []string{v.Trusted, v.Reason, itoa(v.Signatures), itoa(v.Images)}
}

func bucketCells(v Bucket) []string {
	return []string{v.Label, itoa(v.Min), itoa(v.Max), itoa(v.Count)}
}

// summaryPairs flattens the header and summary for the summary table.
func summaryPairs(d *Document) [][2]string {
	s, g := d.Summary, d.Summary.Signatures
	lastRun := ""
	if s.LastRun != nil {
		lastRun = itoa(s.LastRun.ID)
	}
	return [][2]string{
		{"generatedAt", stamp(d.GeneratedAt)}, {"catalog.file", d.Catalog.File}, {"catalog.schemaVersion", itoa(d.Catalog.SchemaVersion)},
		{"filter.repository", d.Filter.Repository}, {"filter.from", d.Filter.From.Description}, {"filter.to", d.Filter.To.Description},
		{"repositories", itoa(s.Repositories)}, {"tags", itoa(s.Tags)}, {"images", itoa(s.Images)}, {"manifestLists", itoa(s.ManifestLists)},
		{"uniqueLayers", itoa(s.UniqueLayers)}, {"uniqueLayerBytes", itoa(s.UniqueLayerBytes)},
		{"sharedLayers", itoa(s.SharedLayers)}, {"sharedLayerBytes", itoa(s.SharedLayerBytes)},
		{"runs", itoa(s.Runs)}, {"lastRun", lastRun}, {"signers", itoa(s.Signers)},
		{"signatures.accepted", itoa(g.Accepted)}, {"signatures.rejected", itoa(g.Rejected)}, {"signatures.noPolicy", itoa(g.NoPolicy)},
		{"signatures.signed", itoa(g.Signed)}, {"signatures.signedAccepted", itoa(g.SignedAccepted)},
		{"signatures.unsigned", itoa(g.Unsigned)}, {"signatures.notEvaluated", itoa(g.NotEvaluated)},
		{"changes.tagsAdded", itoa(s.Changes.TagsAdded)}, {"changes.tagsMoved", itoa(s.Changes.TagsMoved)}, {"changes.tagsRemoved", itoa(derefInt(s.Changes.TagsRemoved))},
		{"changes.repositoriesRemoved", itoa(s.Changes.RepositoriesRemoved)},
		{"changes.imagesAdded", itoa(s.Changes.ImagesAdded)}, {"changes.verificationChanged", itoa(s.Changes.VerificationChanged)},
		{"changes.failures", itoa(s.Changes.Failures)}, {"unreferencedImages", itoa(s.UnreferencedImages)},
	}
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// humanBytes prints a size with binary units: 0 B, 512 B, 1.5 KiB, 20 MiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	format := "%.1f %ciB"
	if v >= 10 || v == float64(int64(v)) {
		format = "%.0f %ciB"
	}
	return fmt.Sprintf(format, v, "KMGTPE"[exp])
}

// limitations are the report's honest caveats, in sentences.
func limitations(r *renderer) []string {
	out := []string{
		"A tag is recorded as removed only when a complete listing no longer has it (--all-tags, --catalog, spec.repository, configuration sources) or the registry answers 404 for it; a listing that failed, was cut short or was narrowed by filters removes nothing it was not asked about. Removals before the catalog reached schema 5 were not recorded.",
		"Verdicts belong to a (repository, image) pair; an image's own verdict is the summary over its repositories (mixed when they disagree). A pair's verdict is the policy's answer for a pull of repository@digest, the image's dockerImageReference; a pull by tag is judged under the tag and can differ (an identity rule that compares the tag, a policy scope for one tag), and its verdict is not recorded. The history records each change of a pair's verdict, or of a signature's result, from the catalog migration that introduced it (0004) on; a signature that disappeared is not listed, and verdicts an older catalog held per image are not history.",
		"Signatures that no key of the policy verified have no recorded signer: signers are the keys and certificate subjects that verified at least one signature.",
		"An image never evaluated (imported without signature lookup) is shown as not evaluated, distinct from unsigned (looked for, none found).",
		"Sizes are those registries report (compressed layers plus the config); manifest lists have no size or build time of their own. Build times are what image configs state; times before 1980 (reproducible builds use 1970) count as unknown.",
		"Verification changes are attributed to the last run that started before them (regimport verify is not recorded as a run).",
	}
	out = append(out, "A signing time is verified only when a transparency log's signed entry timestamp or an RFC 3161 timestamp attests it; the time in a simple signature, a cosign payload or notation's signingTime is the signer's own claim. Evidence is recorded for trusted signatures only: what a signature that did not verify says of itself proves nothing.")
	if n := r.unknownEvidence; n > 0 {
		out = append(out, itoa(n)+" signatures were stored before the catalog recorded evidence (schema 13): their signer, time and log evidence are unknown until `regimport verify` re-verifies them, and --key-retired cannot match them.")
	}
	if r.opts.Repository != "" {
		out = append(out, "Run totals (imported, unchanged, failed) are for whole runs; the other figures are limited to repositories matching "+r.opts.Repository+".")
	}
	if r.doc.Filter.To.Time != nil {
		out = append(out, "The comparison ends before now, but verdicts and signatures are shown as they are now.")
	}
	return out
}
