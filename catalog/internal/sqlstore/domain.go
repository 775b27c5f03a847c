package sqlstore

import "github.com/regimport/regimport/catalog"

// The catalog's domain types and values under their own names, so that the
// SQL code reads as it did inside package catalog. They are declared once,
// in package catalog; these are aliases, not copies.
type (
	ImageRecord       = catalog.ImageRecord
	TagRecord         = catalog.TagRecord
	Outcome           = catalog.Outcome
	Options           = catalog.Options
	AttestationRecord = catalog.AttestationRecord
	Change            = catalog.Change
	SignatureRecord   = catalog.SignatureRecord
	Verification      = catalog.Verification
	Verdict           = catalog.Verdict
	PairVerdict       = catalog.PairVerdict
	Run               = catalog.Run
	RunCounts         = catalog.RunCounts
	Failure           = catalog.Failure
	Shard             = catalog.Shard
	ImagePage         = catalog.ImagePage
	ListOptions       = catalog.ListOptions
	UnreferencedImage = catalog.UnreferencedImage
	StreamUpdate      = catalog.StreamUpdate
	StreamMarker      = catalog.StreamMarker
	TagRemoval        = catalog.TagRemoval
	RemovedTag        = catalog.RemovedTag
	WriterOptions     = catalog.WriterOptions
	TableCopy         = catalog.TableCopy
	CopyStats         = catalog.CopyStats
)

const (
	Unchanged = catalog.Unchanged
	Created   = catalog.Created
	Updated   = catalog.Updated

	RunRunning     = catalog.RunRunning
	RunSucceeded   = catalog.RunSucceeded
	RunPartial     = catalog.RunPartial
	RunFailed      = catalog.RunFailed
	RunInterrupted = catalog.RunInterrupted
	RunAbandoned   = catalog.RunAbandoned

	VerdictAccepted    = catalog.VerdictAccepted
	VerdictRejected    = catalog.VerdictRejected
	VerdictNoPolicy    = catalog.VerdictNoPolicy
	VerdictUnevaluated = catalog.VerdictUnevaluated
	VerdictMixed       = catalog.VerdictMixed

	AnnotationSignatureVerdict    = catalog.AnnotationSignatureVerdict
	AnnotationSignatureReason     = catalog.AnnotationSignatureReason
	AnnotationSignatureVerdicts   = catalog.AnnotationSignatureVerdicts
	AnnotationSignatureRepository = catalog.AnnotationSignatureRepository
	ConditionSignatureVerified    = catalog.ConditionSignatureVerified
)

var (
	ErrNotFound     = catalog.ErrNotFound
	ErrNotCatalog   = catalog.ErrNotCatalog
	ErrTooNew       = catalog.ErrTooNew
	ErrReadOnly     = catalog.ErrReadOnly
	ErrNeedMigrate  = catalog.ErrNeedMigrate
	ErrWriterClosed = catalog.ErrWriterClosed
	ErrNotEmpty     = catalog.ErrNotEmpty
	ErrLockLost     = catalog.ErrLockLost
)

const (
	ReasonNotListed         = catalog.ReasonNotListed
	ReasonNotFound          = catalog.ReasonNotFound
	ReasonRepositoryRemoved = catalog.ReasonRepositoryRemoved
)
