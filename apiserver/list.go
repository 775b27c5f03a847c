package apiserver

import (
	"context"
	"net/http"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// walkChunk is how many objects one catalog read returns while a list
	// without a limit, or a filtered one, is walked.
	walkChunk = 500
	// maxChunk bounds one catalog read when a client asks for a huge limit.
	maxChunk = 2000
)

// pager is what listing needs of a resource: keyset pages in key order.
type pager[T any] struct {
	// fetch returns up to n objects after the key `after`, the catalog's
	// resourceVersion read with them, and how many objects follow.
	fetch func(ctx context.Context, after string, n int) (items []T, rv, remaining int64, err error)
	key   func(*T) string // the keyset position: name, or namespace/name
	// present turns an object into its served forms.
	present func(*T) presented
}

// walk describes a pass over a resource in key order.
type walk[T any] struct {
	after    string // start after this key
	limit    int    // stop after this many matches (0: walk to the end)
	filtered bool   // match rejects some objects: pages cannot be counted
	match    func(*T) bool
}

// walkEnd is where a walk stopped.
type walkEnd struct {
	rv        int64  // resourceVersion read with the first page
	next      string // the key to continue after, "" at the end
	remaining *int64 // objects after next, when countable
}

// walkPages calls emit for every matching object, reading keyset pages.
// emit gets the resourceVersion of the first page.
func walkPages[T any](ctx context.Context, p pager[T], wk walk[T], emit func(rv int64, obj *T) error) (walkEnd, error) {
	end := walkEnd{rv: -1}
	cursor, taken := wk.after, 0
	for {
		n := walkChunk
		if wk.limit > 0 && !wk.filtered {
			n = min(wk.limit-taken, maxChunk)
		}
		items, rv, remaining, err := p.fetch(ctx, cursor, n)
		if err != nil {
			return end, err
		}
		if end.rv < 0 {
			end.rv = rv
		}
		for i := range items {
			obj := &items[i]
			cursor = p.key(obj)
			if wk.match != nil && !wk.match(obj) {
				continue
			}
			if err := emit(end.rv, obj); err != nil {
				return end, err
			}
			if taken++; wk.limit > 0 && taken == wk.limit {
				if left := remaining + int64(len(items)-1-i); left > 0 {
					end.next = cursor
					if !wk.filtered {
						end.remaining = &left
					}
				}
				return end, nil
			}
		}
		if len(items) < n || remaining == 0 {
			return end, nil
		}
	}
}

// listStart is where a list begins and which resourceVersion it reports.
type listStart struct {
	after string
	rv    int64 // fixed resourceVersion to report; 0: the first page's
	exact bool  // drop objects newer than rv (an Exact list)
}

// startList applies continue and resourceVersion the way the apiserver's
// storage does, within what a catalog without history can honour.
func (s *Server) startList(ctx context.Context, t target, q *query) (listStart, error) {
	var st listStart
	if q.opts.Continue != "" {
		tok, err := decodeContinue(q.opts.Continue)
		if err != nil {
			return st, err
		}
		if rv := q.opts.ResourceVersion; rv != "" && rv != "0" {
			return st, badRequest("specifying resource version is not allowed when using continue")
		}
		if err := s.checkContinue(ctx, tok.ResourceVersion); err != nil {
			return st, err
		}
		return listStart{after: tok.Start, rv: tok.ResourceVersion}, nil
	}
	want, set, err := parseResourceVersion(q.opts.ResourceVersion)
	if err != nil || !set {
		return st, err
	}
	current, err := s.waitForResourceVersion(ctx, want)
	if err != nil {
		return st, err
	}
	exact := q.opts.ResourceVersionMatch == metav1.ResourceVersionMatchExact ||
		(q.opts.ResourceVersionMatch == "" && q.opts.Limit > 0)
	if !exact {
		return st, nil
	}
	if want != current {
		// The catalog holds only the present: it equals the state at want
		// when nothing of this resource changed since.
		changed, err := s.cat.Changes(ctx, t.resource, want, 1)
		if err != nil {
			return st, err
		}
		if len(changed) > 0 {
			return st, apierrors.NewResourceExpired(msgListExpired)
		}
	}
	return listStart{rv: want, exact: true}, nil
}

// checkContinue is the rule for honouring a continue token: keyset pages
// stay valid, so a token is good while its resourceVersion belongs to this
// catalog's history and the change log after it is whole.
func (s *Server) checkContinue(ctx context.Context, rv int64) error {
	current, err := s.cat.ResourceVersion(ctx)
	if err != nil {
		return err
	}
	oldest, err := s.oldestResourceVersion(ctx)
	if err != nil {
		return err
	}
	if rv > current || rv+1 < oldest {
		return apierrors.NewResourceExpired(msgContinueExpired)
	}
	return nil
}

func (s *Server) oldestResourceVersion(ctx context.Context) (int64, error) {
	h, ok := s.cat.(ChangeLogHorizon)
	if !ok {
		return 0, nil
	}
	return h.OldestResourceVersion(ctx)
}

// waitForResourceVersion waits up to ResourceVersionWait for the catalog to
// reach want (another process may be committing it), then gives up with the
// apiserver's "Too large resource version" Timeout.
func (s *Server) waitForResourceVersion(ctx context.Context, want int64) (int64, error) {
	deadline := time.Now().Add(s.rvWait)
	for {
		notice := s.changeNotice()
		current, err := s.cat.ResourceVersion(ctx)
		if err != nil || current >= want {
			return current, err
		}
		if !time.Now().Before(deadline) {
			return current, tooLargeResourceVersion(want, current)
		}
		select {
		case <-ctx.Done():
			return current, ctx.Err()
		case <-notice:
		case <-time.After(min(s.poll, time.Until(deadline))):
		}
	}
}

// serveList answers a list request for any resource: a page (limit > 0) is
// read whole, since its metadata (continue) comes first; a list without a
// limit is streamed page by page behind metadata known up front.
func serveList[T any](s *Server, w http.ResponseWriter, r *http.Request, t target, out output, q *query, p pager[T], match func(*T) bool) {
	ctx, cancel := requestContext(r, q)
	defer cancel()
	st, err := s.startList(ctx, t, q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// A larger limit is served MaxPageSize objects and a continue token,
	// which the API allows ("the server may return fewer"): a page is held
	// in memory before its metadata can be written.
	limit := int(min(q.opts.Limit, int64(s.limits.MaxPageSize)))
	wk := walk[T]{after: st.after, limit: limit, filtered: q.filtered || st.exact, match: match}
	if st.exact {
		wk.match = func(obj *T) bool {
			rv, _ := strconv.ParseInt(p.present(obj).meta.ResourceVersion, 10, 64)
			return rv <= st.rv && match(obj)
		}
	}
	listMeta := func(end walkEnd) metav1.ListMeta {
		rv := st.rv
		if rv == 0 {
			rv = end.rv
		}
		m := metav1.ListMeta{ResourceVersion: strconv.FormatInt(rv, 10), RemainingItemCount: end.remaining}
		if end.next != "" {
			m.Continue = encodeContinue(rv, end.next)
		}
		return m
	}
	add := func(sink *listSink, obj *T) error {
		v, err := listItem(out, p.present(obj))
		if err != nil {
			return err
		}
		return sink.add(v)
	}

	if wk.limit > 0 {
		var items []*T
		end, err := walkPages(ctx, p, wk, func(_ int64, obj *T) error {
			// A copy: a pointer into the catalog's chunk would keep all of
			// it alive, matches or not, for one match.
			kept := *obj
			items = append(items, &kept)
			return nil
		})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		sink, err := newListSink(w, out, envelope(out, t, listMeta(end)))
		for i := 0; err == nil && i < len(items); i++ {
			err = add(sink, items[i])
		}
		if err == nil {
			err = sink.close()
		}
		if err != nil {
			s.abort(w, r, err)
		}
		return
	}

	var sink *listSink
	end, err := walkPages(ctx, p, wk, func(rv int64, obj *T) error {
		if sink == nil {
			var err error
			if sink, err = newListSink(w, out, envelope(out, t, listMeta(walkEnd{rv: rv}))); err != nil {
				return err
			}
		}
		return add(sink, obj)
	})
	if err == nil && sink == nil {
		sink, err = newListSink(w, out, envelope(out, t, listMeta(end)))
	}
	if err == nil {
		err = sink.close()
	}
	if err != nil {
		if sink == nil {
			s.writeError(w, r, err)
			return
		}
		s.abort(w, r, err)
	}
}

// requestContext applies timeoutSeconds to a list.
func requestContext(r *http.Request, q *query) (context.Context, context.CancelFunc) {
	if q.opts.TimeoutSeconds != nil && *q.opts.TimeoutSeconds > 0 {
		return context.WithTimeout(r.Context(), time.Duration(*q.opts.TimeoutSeconds)*time.Second)
	}
	return context.WithCancel(r.Context())
}

// abort ends a response whose status line is already sent: the connection
// is cut so the client sees a broken body, never a short but valid list.
func (s *Server) abort(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() == nil {
		s.log.Error("response cut short", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	panic(http.ErrAbortHandler)
}
