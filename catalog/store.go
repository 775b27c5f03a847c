package catalog

import (
	"context"
	"database/sql"
	"time"

	imagev1 "github.com/openshift/api/image/v1"
)

// Catalog is an open catalog, whichever database holds it: the store the
// importer, the endpoint, the CLI and the reports use. catalogdb.Open
// opens one; catalog/sqlite and catalog/postgres implement it.
//
// Reads see committed data; every write goes through a Writer.
type Catalog interface {
	// Path is the file the catalog was opened from, or its PostgreSQL
	// URL without the password.
	Path() string
	// Close releases the catalog's connections.
	Close() error
	// Dialect names the database: DialectSQLite or DialectPostgres.
	Dialect() Dialect

	Reader
	RunStore
	VerdictReader
	ReportSource
	MirrorStore
	PullVerdicts

	// NewWriter starts the catalog's single writer.
	NewWriter(ctx context.Context, opts WriterOptions) (Writer, error)
	// UpdateVerification replaces an image's verification outside a run
	// (`regimport verify`); changed says whether anything differed.
	UpdateVerification(ctx context.Context, image string, v Verification) (changed bool, err error)
}

// Reader is what the endpoint serves from: images, image streams and the
// change log.
type Reader interface {
	ResourceVersion(ctx context.Context) (int64, error)
	HasImage(ctx context.Context, name string) (bool, error)
	Config(ctx context.Context, digest string) ([]byte, error)
	GetImage(ctx context.Context, name string) (*imagev1.Image, error)
	ListImages(ctx context.Context, opts ListOptions) (ImagePage, error)
	TagImage(ctx context.Context, repository, tag string) (string, error)
	Changes(ctx context.Context, resource string, after int64, limit int) ([]Change, error)
	GetImageStream(ctx context.Context, namespace, name string) (*imagev1.ImageStream, error)
	ListImageStreams(ctx context.Context, namespace, after string, limit int) (items []imagev1.ImageStream, rv, remaining int64, err error)
	UnreferencedImages(ctx context.Context) ([]UnreferencedImage, error)
	CurrentTags(ctx context.Context, repository string) (map[string]string, error)
	KnownRepositories(ctx context.Context, prefix string) ([]string, error)
}

// RunStore records import runs and what failed in them.
type RunStore interface {
	BeginRun(ctx context.Context, command string, shard Shard) (int64, error)
	FinishRun(ctx context.Context, id int64, status string, counts RunCounts, failures []Failure) error
	Runs(ctx context.Context, limit int) ([]Run, error)
	RunFailures(ctx context.Context, runID int64) ([]Failure, error)
}

// VerdictReader is what the importer and `regimport verify` read of
// signatures, verdicts and the images they belong to.
type VerdictReader interface {
	StoredAttestations(ctx context.Context, image string) ([]AttestationRecord, bool, error)
	StoredSignatures(ctx context.Context, repository, image string) ([]SignatureRecord, error)
	ImageNames(ctx context.Context, after string, limit int) ([]string, error)
	TagsOfImage(ctx context.Context, image string) ([]string, error)
	ListsContaining(ctx context.Context, image string) ([]string, error)
	Verdicts(ctx context.Context, image string) ([]PairVerdict, error)
	PairsToLookUp(ctx context.Context, repository, image string) ([]string, error)
	PairLookedUp(ctx context.Context, repository, image string) (bool, error)
	Manifest(ctx context.Context, image string) ([]byte, string, error)
	ReferencingPairs(ctx context.Context, afterImage, afterRepository string, images []string, limit int) ([]PairVerdict, error)
	TagsOfImageIn(ctx context.Context, repository, image string) ([]string, error)
}

// ReportSource is what a report reads through: one read-only snapshot of
// the catalog, as a transaction, and the dialect its SQL must be written
// in. The report owns its queries (package report).
type ReportSource interface {
	// BeginSnapshot starts a transaction that sees one snapshot of the
	// catalog and writes nothing to it, though it may create TEMP tables;
	// the caller rolls it back.
	BeginSnapshot(ctx context.Context) (*sql.Tx, error)
	Dialect() Dialect
	// UnreferencedImagesIn is Reader.UnreferencedImages as the snapshot
	// tx sees them (the query is the catalog's, shared with prune).
	UnreferencedImagesIn(ctx context.Context, tx *sql.Tx) ([]UnreferencedImage, error)
	// MirrorStatusIn is MirrorStore.MirrorStatus as the snapshot tx sees it.
	MirrorStatusIn(ctx context.Context, tx *sql.Tx, repositoryGlob string) ([]MirrorDestinationStatus, error)
}

// PullVerdicts are the verdicts a pull of a tag would get, as
// containers/image decides one (pullverdict.go), and the BuildKit
// attestations an index carries for its images.
type PullVerdicts interface {
	// PullVerdictOfImage is the pull verdict, in repository, of a tag or
	// digest naming image ("" when never evaluated, or an artifact).
	PullVerdictOfImage(ctx context.Context, repository, image string) (Verdict, string, error)
	// RepositoryPullVerdicts are the pull verdicts, in repository, of
	// the images its current tags name, by image: for each, what
	// PullVerdictOfImage gives, in one read for the whole repository.
	RepositoryPullVerdicts(ctx context.Context, repository string) (map[string]PullVerdict, error)
	// ImagePullVerdicts are image's pull verdicts in every repository
	// with a verdict for it or its instances, by repository name.
	ImagePullVerdicts(ctx context.Context, image string) ([]RepositoryPullVerdict, error)
	// IndexAttestations are the BuildKit attestations stored for image.
	IndexAttestations(ctx context.Context, image string) ([]IndexAttestation, error)
}

// MirrorStore is what `regimport mirror` plans from and records in: the
// current tags with their verdicts, the removals a complete listing
// recorded, and mirror runs with what each copied.
type MirrorStore interface {
	MirrorSourceTags(ctx context.Context) ([]MirrorSourceTag, error)
	MirrorRemovedTags(ctx context.Context) ([]MirrorRemovedTag, error)
	// RunStarted is when import run id began (mirror plan --since RUN).
	RunStarted(ctx context.Context, id int64) (time.Time, error)
	BeginMirrorRun(ctx context.Context, spec MirrorRunSpec) (int64, error)
	RecordMirrored(ctx context.Context, runID int64, t MirroredTag) error
	FinishMirrorRun(ctx context.Context, id int64, status string, n MirrorRunCounts) error
	// MirrorLocations lists where an image is mirrored now.
	MirrorLocations(ctx context.Context, image string) ([]MirroredTag, error)
	MirrorStatus(ctx context.Context, repositoryGlob string) ([]MirrorDestinationStatus, error)
	// LastMirrored maps source repository:tag to the digest a destination
	// last got.
	LastMirrored(ctx context.Context, destination string) (map[string]string, error)
}

// Writer queues writes for the catalog's single writer goroutine, which
// commits them in batches; done is called once each is committed or refused.
type Writer interface {
	PutImage(ctx context.Context, rec ImageRecord, done func(Outcome, error)) error
	PutTag(ctx context.Context, rec TagRecord, done func(Outcome, error)) error
	PutVerification(ctx context.Context, image string, v Verification, done func(Outcome, error)) error
	PutImageStream(ctx context.Context, u StreamUpdate, done func(*imagev1.ImageStream, Outcome, error)) error
	RemoveTags(ctx context.Context, rec TagRemoval, done func([]RemovedTag, error)) error
	RemoveRepository(ctx context.Context, repository string, mark StreamMarker, done func([]RemovedTag, error)) error
	Prune(ctx context.Context, cutoff time.Time, done func([]UnreferencedImage, error)) error
	// Close commits what is queued and stops the writer.
	Close() error
}

// Dialect names the database a catalog lives in.
type Dialect string

// Dialects.
const (
	DialectSQLite   Dialect = "sqlite"
	DialectPostgres Dialect = "postgres"
)

// RunLock is a held run lock (see catalogdb.LockRuns): it keeps two runs
// from writing the same part of a catalog at once until Unlock.
type RunLock interface {
	Unlock() error
}
