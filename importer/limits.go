package importer

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

// Limits bound what one reference may cost a run, whatever a registry
// sends. Exceeding one fails that reference (or, for signatures, its
// verdict) with an error that wraps ErrLimit and names the limit; the run
// goes on. A zero field takes its default.
type Limits struct {
	// ReferenceTimeout is how long one reference (a tag or a digest, a
	// list's children and signatures included) may take to fetch
	// (default 10 minutes).
	ReferenceTimeout time.Duration
	// ListChildren is how many entries a manifest list may have (default
	// 256; real multi-platform lists have a few dozen at most).
	ListChildren int
	// SignaturesPerImage is how many signatures and referrers of one
	// image, from every source together, are stored (default 256: twice
	// what one source may give, so that the referrers' cap and its note
	// fit beside the other sources).
	SignaturesPerImage int
	// SignatureBytesPerImage bounds their total size (default 4 MiB):
	// they are stored, and served inside the Image.
	SignatureBytesPerImage int64
}

// Default limits.
const (
	DefaultReferenceTimeout       = 10 * time.Minute
	DefaultListChildren           = 256
	DefaultSignaturesPerImage     = 256
	DefaultSignatureBytesPerImage = 4 << 20
)

// ErrLimit marks a reference that went over one of the Limits.
var ErrLimit = errors.New("over a limit")

func (l Limits) withDefaults() Limits {
	if l.ReferenceTimeout <= 0 {
		l.ReferenceTimeout = DefaultReferenceTimeout
	}
	if l.ListChildren <= 0 {
		l.ListChildren = DefaultListChildren
	}
	if l.SignaturesPerImage <= 0 {
		l.SignaturesPerImage = DefaultSignaturesPerImage
	}
	if l.SignatureBytesPerImage <= 0 {
		l.SignatureBytesPerImage = DefaultSignatureBytesPerImage
	}
	return l
}

// errReferenceTimeout is the cause of a reference's context when its
// ReferenceTimeout ran out.
var errReferenceTimeout = errors.New("reference timeout")

// guard runs one reference's work with the reference timeout, and turns a
// panic inside it into that reference's error, logged with its stack: a
// last line of defence, so that one input that trips a bug never ends the
// run (no input known today does).
func (imp *Importer) guard(ctx context.Context, reference string, work func(context.Context) error) (err error) {
	ctx, cancel := context.WithTimeoutCause(ctx, imp.limits.ReferenceTimeout, errReferenceTimeout)
	defer cancel()
	defer imp.recoverAs(reference, &err)
	err = work(ctx)
	if err != nil && errors.Is(context.Cause(ctx), errReferenceTimeout) {
		err = fmt.Errorf("%w: took longer than the reference-timeout limit of %s: %w", ErrLimit, imp.limits.ReferenceTimeout, err)
	}
	return err
}

// recoverAs, deferred, turns a panic into *err, logged with its stack.
func (imp *Importer) recoverAs(reference string, err *error) {
	if p := recover(); p != nil {
		imp.log.Error("panic while importing a reference; it fails, the run goes on", "reference", reference, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		*err = fmt.Errorf("internal error (a bug in regimport, logged with its stack): %v", p)
	}
}
