package importer

import (
	"context"

	digest "github.com/opencontainers/go-digest"
	"github.com/regimport/regimport/internal/digests"
	"github.com/regimport/regimport/registry"
	"github.com/regimport/regimport/signatures"
)

// Signature lookups that a complete tag list has already answered.
//
// cosign keeps an image's signatures under the tag sha256-<hex>.sig (and
// attestations under .att and .sbom); the OCI 1.1 referrers tag schema
// keeps its referrers index under sha256-<hex>. When this run has listed a
// repository's tags completely (registry.Repository.Tags returned no
// error: every page came back whole), such a tag that is not in the list
// does not exist, and asking for it would only fetch a 404. So:
//
//   - the lookup of an artifact tag the listing does not have is skipped;
//     one that the listing has is fetched as before;
//   - only when tags are read from the listed registry alone
//     (registry.Repository.TagsOnlyFromOrigin): a registries.conf mirror
//     that serves tag pulls may hold tags its registry does not list;
//   - images imported by tag or by digest from a repository this run did
//     not list keep every lookup, and a registry with the referrers API
//     is still asked once per image (the API answers, not a tag);
//   - a signature pushed after the listing is missed by this run (the
//     verdict says what was read), and the next run finds it: its listing
//     has the tag, and a pair whose stored verdict read nothing from a
//     listed artifact tag is looked up again (artifactTagsUnread).

// tagListing is what one complete tag list says about a repository's
// artifact tags. It keeps those tags only, not the image tags.
type tagListing struct {
	artifacts map[string]struct{}
	images    int // the tags that are not artifact tags
}

func newTagListing(tags []string) *tagListing {
	l := &tagListing{artifacts: map[string]struct{}{}}
	for _, t := range tags {
		if IsArtifactTag(t) {
			l.artifacts[t] = struct{}{}
		} else {
			l.images++
		}
	}
	return l
}

// has reports whether tag was listed (artifact tags only are kept; an
// image tag is never asked about).
func (l *tagListing) has(tag string) bool {
	_, ok := l.artifacts[tag]
	return ok
}

// noteListing records a complete tag list of repository for this run's
// signature lookups.
func (r *fetcher) noteListing(repository string, tags []string) {
	r.listings.Store(repository, newTagListing(tags))
}

// listed is the lookup rule of repository: nil when this run has no
// complete tag list of it (every lookup is sent).
func (r *fetcher) listed(repository string) func(tag string) bool {
	v, ok := r.listings.Load(repository)
	if !ok {
		return nil
	}
	return v.(*tagListing).has
}

// mostlyStored reports whether the run stored references to at least half
// of repository's image tags, and enough of them (repositoryReadFrom), as
// its listing counted them: then reading the pull verdicts of the whole
// repository at once (catalog's RepositoryPullVerdicts) costs less than a
// read per reference, which a run that stored a few tags of a large
// repository keeps.
func (r *fetcher) mostlyStored(repository string, stored int) bool {
	v, ok := r.listings.Load(repository)
	if !ok || stored < repositoryReadFrom {
		return false
	}
	return 2*stored >= v.(*tagListing).images
}

// repositoryReadFrom is the fewest stored references of a repository that
// are read together: below it the per-reference reads cost little.
const repositoryReadFrom = 16

// artifactTagsOf is the cosign signature tag and the referrers tag of
// image, when image is a sha256 digest.
func artifactTagsOf(image string) (sig, referrers string, ok bool) {
	d := digest.Digest(image)
	if digests.Validate(d) != nil || d.Algorithm() != digest.SHA256 {
		return "", "", false
	}
	ref := registry.ReferrersTag(d)
	return ref + ".sig", ref, true
}

// artifactTagsUnread reports whether this run's listing of repository has
// an artifact tag of image that the stored verdict of the pair read
// nothing from: a cosign .sig tag (when the repository's policy uses
// sigstore attachments) with no sigstore signature stored, or a referrers
// tag with neither a referrers signature nor an attestation stored. Such a
// verdict was made before the tag was pushed (by a run that skipped the
// lookup on an older listing, or before the image was signed), so the
// pair is looked up again. Without a listing, or with no artifact tag of
// image in it, the catalog is not asked.
func (r *fetcher) artifactTagsUnread(ctx context.Context, repository, image string, useSigstore bool) (bool, error) {
	listed := r.listed(repository)
	sig, ref, ok := artifactTagsOf(image)
	if listed == nil || !ok {
		return false, nil
	}
	wantSig, wantRef := useSigstore && listed(sig), listed(ref)
	if !wantSig && !wantRef {
		return false, nil
	}
	stored, err := r.imp.cat.StoredSignatures(ctx, repository, image)
	if err != nil {
		return false, err
	}
	for _, s := range stored {
		switch s.Source {
		case signatures.SourceSigstore:
			wantSig = false
		case signatures.SourceReferrers:
			wantRef = false
		}
	}
	if wantRef {
		atts, _, err := r.imp.cat.StoredAttestations(ctx, image)
		if err != nil {
			return false, err
		}
		wantRef = len(atts) == 0
	}
	return wantSig || wantRef, nil
}

// unreadTagsOf adds to names (the pairs of a stored image the catalog has
// no verdict for) the image itself when its verdict missed a listed
// artifact tag (artifactTagsUnread).
func (r *fetcher) unreadTagsOf(ctx context.Context, t target, image string, names []string) ([]string, error) {
	for _, n := range names {
		if n == image {
			return names, nil
		}
	}
	unread, err := r.artifactTagsUnread(ctx, t.repo.Name(), image, r.imp.usesSigstore(pairIdentity(t)))
	if err != nil || !unread {
		return names, err
	}
	return append([]string{image}, names...), nil
}
