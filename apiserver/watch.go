package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// changeBatch is how many change-log rows one poll reads at a time.
const changeBatch = 500

// errClientGone ends a watch whose client stopped reading.
var errClientGone = errors.New("watch client went away")

// watcher streams one watch's events.
type watcher struct {
	s   *Server
	t   target
	q   *query
	out output
	src watchSource
	w   http.ResponseWriter
	rc  *http.ResponseController
	// pending holds objects the initial walk skipped because they are newer
	// than its resourceVersion; their first event is ADDED, whatever the log says.
	pending map[string]bool
	end     time.Time // the watch's deadline, plus time to send its last event
}

// writeDeadline is when the event about to be written must be through: a
// client that stops reading is cut after RequestTimeout, and never is one
// kept past the watch's end.
func (wt *watcher) writeDeadline() time.Time {
	d := time.Now().Add(wt.s.limits.RequestTimeout)
	if d.After(wt.end) {
		return wt.end
	}
	return d
}

// watchSource is what a watch needs of one resource: the change log's
// resource name, its objects as encoded events, and which keys (the change
// log's names) the watch covers.
type watchSource struct {
	resource string
	// initial walks the current objects in scope, calling emit with each
	// one's key, its resourceVersion, the walk's and the encoded object.
	initial func(ctx context.Context, emit func(key string, objRV, walkRV int64, v any) error) (int64, error)
	// inScope reports whether a change-log name is covered by the watch.
	inScope func(key string) bool
	// load reads one object; ok is false when it does not match the query.
	load func(ctx context.Context, key string) (v any, rv int64, ok bool, err error)
	// gone is the encoded object of a DELETED event; ok as for load.
	gone func(key string, rv int64) (v any, ok bool, err error)
}

// watchSourceFor builds the watchSource of a target's resource.
func (s *Server) watchSourceFor(t target, q *query, out output) watchSource {
	if t.resource == resStreams {
		return s.streamWatchSource(t, q, out)
	}
	return s.imageWatchSource(t, q, out)
}

func (s *Server) imageWatchSource(t target, q *query, out output) watchSource {
	encode := func(img *imagev1.Image) (any, error) { return single(out, imageColumns(), s.presentImage(t, img)) }
	return watchSource{
		resource: resImages,
		initial: func(ctx context.Context, emit func(string, int64, int64, any) error) (int64, error) {
			end, err := walkPages(ctx, s.imagePager(t, q.name), walk[imagev1.Image]{filtered: true, match: q.matchImage},
				func(rv int64, img *imagev1.Image) error {
					v, err := encode(img)
					if err != nil {
						return err
					}
					return emit(img.Name, resourceVersionOf(&img.ObjectMeta), rv, v)
				})
			return end.rv, err
		},
		inScope: func(key string) bool { return q.name == "" || key == q.name },
		load: func(ctx context.Context, key string) (any, int64, bool, error) {
			img, err := s.cat.GetImage(ctx, key)
			if err != nil || !q.matchImage(img) {
				return nil, 0, false, err
			}
			v, err := encode(img)
			return v, resourceVersionOf(&img.ObjectMeta), err == nil, err
		},
		gone: func(key string, rv int64) (any, bool, error) {
			img := &imagev1.Image{
				TypeMeta:   metav1.TypeMeta{Kind: "Image", APIVersion: t.apiVersion()},
				ObjectMeta: metav1.ObjectMeta{Name: key, ResourceVersion: strconv.FormatInt(rv, 10)},
			}
			if !q.matchImage(img) {
				return nil, false, nil
			}
			v, err := encode(img)
			return v, err == nil, err
		},
	}
}

// streamWatchSource watches image streams of one namespace (or all); the
// change log names them namespace/name.
func (s *Server) streamWatchSource(t target, q *query, out output) watchSource {
	encode := func(is *imagev1.ImageStream) (any, error) {
		return single(out, streamColumns(), s.presentStream(t, is))
	}
	name := t.name
	if name == "" {
		name = q.name
	}
	match := func(is *imagev1.ImageStream) bool { return (name == "" || is.Name == name) && q.matchStream(is) }
	p := pager[imagev1.ImageStream]{
		fetch: func(ctx context.Context, after string, n int) ([]imagev1.ImageStream, int64, int64, error) {
			return s.streams.ListImageStreams(ctx, t.namespace, after, n)
		},
		key:     func(is *imagev1.ImageStream) string { return is.Namespace + "/" + is.Name },
		present: func(is *imagev1.ImageStream) presented { return s.presentStream(t, is) },
	}
	return watchSource{
		resource: resStreams,
		initial: func(ctx context.Context, emit func(string, int64, int64, any) error) (int64, error) {
			end, err := walkPages(ctx, p, walk[imagev1.ImageStream]{filtered: true, match: match},
				func(rv int64, is *imagev1.ImageStream) error {
					v, err := encode(is)
					if err != nil {
						return err
					}
					return emit(is.Namespace+"/"+is.Name, resourceVersionOf(&is.ObjectMeta), rv, v)
				})
			return end.rv, err
		},
		inScope: func(key string) bool {
			ns, n, _ := strings.Cut(key, "/")
			return (t.namespace == "" || ns == t.namespace) && (name == "" || n == name)
		},
		load: func(ctx context.Context, key string) (any, int64, bool, error) {
			ns, n, _ := strings.Cut(key, "/")
			is, err := s.streams.GetImageStream(ctx, ns, n)
			if err != nil || !match(is) {
				return nil, 0, false, err
			}
			v, err := encode(is)
			return v, resourceVersionOf(&is.ObjectMeta), err == nil, err
		},
		gone: func(key string, rv int64) (any, bool, error) {
			ns, n, _ := strings.Cut(key, "/")
			is := &imagev1.ImageStream{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: n, ResourceVersion: strconv.FormatInt(rv, 10)}}
			if !match(is) {
				return nil, false, nil
			}
			v, err := encode(is)
			return v, err == nil, err
		},
	}
}

func (s *Server) watchResource(w http.ResponseWriter, r *http.Request, t target, out output) {
	if out.yaml {
		s.writeError(w, r, notAcceptable())
		return
	}
	q, err := parseQuery(r, t)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	release, err := s.slots.acquire(clientAddress(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer release()
	end := time.Now().Add(s.limits.watchTimeout(q.opts.TimeoutSeconds))
	ctx, cancel := context.WithDeadline(r.Context(), end)
	defer cancel()

	initial := q.opts.SendInitialEvents != nil && *q.opts.SendInitialEvents
	want, set, err := parseResourceVersion(q.opts.ResourceVersion)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	current, err := s.waitForResourceVersion(ctx, want)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	start := current
	if set && !initial {
		start = want
	}

	wt := &watcher{s: s, t: t, q: q, out: out, src: s.watchSourceFor(t, q, out), w: w, rc: http.NewResponseController(w),
		pending: map[string]bool{}, end: end.Add(writeGrace)}
	// A watch outlives the server's request timeout: move the connection's
	// read deadline to the watch's end (a watching client sends nothing
	// more); each event sets its own write deadline (send). Not every
	// ResponseWriter can.
	_ = wt.rc.SetReadDeadline(wt.end)
	_ = wt.rc.SetWriteDeadline(wt.writeDeadline())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(http.StatusOK)
	if err := wt.rc.Flush(); err != nil {
		s.log.Warn("watch: the response writer cannot flush", "err", err)
		return
	}
	_ = wt.rc.SetWriteDeadline(wt.end)
	s.metrics.watchers.Inc()
	defer s.metrics.watchers.Dec()

	err = wt.run(ctx, start, set && !initial, initial)
	if err != nil && ctx.Err() == nil && !errors.Is(err, errClientGone) {
		s.log.Warn("watch ended with an error", "path", r.URL.Path, "err", err)
		st := s.errorStatus(r, err)
		st.Kind, st.APIVersion = "Status", "v1"
		_ = wt.send(watch.Error, &st)
	}
}

func (wt *watcher) run(ctx context.Context, start int64, fromVersion, initial bool) error {
	if fromVersion {
		oldest, err := wt.s.oldestResourceVersion(ctx)
		if err != nil {
			return err
		}
		if start+1 < oldest {
			return tooOldResourceVersion(start, oldest-1)
		}
	}
	if initial {
		var err error
		if start, err = wt.sendInitial(ctx); err != nil {
			return err
		}
		if wt.q.opts.AllowWatchBookmarks {
			if err := wt.bookmark(start, true); err != nil {
				return err
			}
		}
	}
	return wt.follow(ctx, start)
}

// sendInitial sends the current objects as ADDED and returns the
// resourceVersion they are the state of.
func (wt *watcher) sendInitial(ctx context.Context) (int64, error) {
	return wt.src.initial(ctx, func(key string, objRV, walkRV int64, v any) error {
		if objRV > walkRV {
			wt.pending[key] = true // changed after the walk began: the log replays it
			return nil
		}
		return wt.send(watch.Added, v)
	})
}

// follow replays the change log after cursor, then reads it again whenever
// the shared poller sees the catalog's resourceVersion move, until the watch
// times out, the client leaves or the server stops watches.
func (wt *watcher) follow(ctx context.Context, cursor int64) error {
	release := wt.s.poller.subscribe()
	defer release()
	var bookmarks <-chan time.Time
	if wt.q.opts.AllowWatchBookmarks {
		tick := time.NewTicker(wt.s.bookmark)
		defer tick.Stop()
		bookmarks = tick.C
	}
	for {
		// Every change up to current is committed: it is safe to move past it.
		// On PostgreSQL that holds across processes because writers commit
		// one at a time in resourceVersion order (catalog's write lock).
		// moved is taken with it: a change after the poller's read closes it.
		current, moved := wt.s.poller.current()
		for {
			changes, err := wt.s.cat.Changes(ctx, wt.src.resource, cursor, changeBatch)
			if err != nil {
				return err
			}
			for _, ch := range changes {
				cursor = ch.ResourceVersion
				if err := wt.apply(ctx, ch); err != nil {
					return err
				}
			}
			if len(changes) < changeBatch {
				break
			}
		}
		cursor = max(cursor, current)
		select {
		case <-ctx.Done():
			return nil
		case <-wt.s.stop:
			return nil
		case <-bookmarks:
			if err := wt.bookmark(cursor, false); err != nil {
				return err
			}
		case <-moved:
		}
	}
}

// apply turns one change into at most one event. An object that changed
// again later is skipped here and sent at its last change, so the
// resourceVersions a client sees never go backwards.
func (wt *watcher) apply(ctx context.Context, ch catalog.Change) error {
	if !wt.src.inScope(ch.Name) {
		return nil
	}
	if ch.Event == string(watch.Deleted) {
		delete(wt.pending, ch.Name)
		v, ok, err := wt.src.gone(ch.Name, ch.ResourceVersion)
		if err != nil || !ok {
			return err
		}
		return wt.send(watch.Deleted, v)
	}
	v, rv, ok, err := wt.src.load(ctx, ch.Name)
	if errors.Is(err, catalog.ErrNotFound) {
		return nil // deleted since: its DELETED change follows
	}
	if err != nil {
		return err
	}
	if !ok || rv > ch.ResourceVersion {
		return nil
	}
	typ := watch.EventType(ch.Event)
	if wt.pending[ch.Name] {
		typ = watch.Added
		delete(wt.pending, ch.Name)
	}
	return wt.send(typ, v)
}

// bookmark sends a BOOKMARK whose object carries only kind, apiVersion and
// the resourceVersion (and the initial-events-end annotation when it closes
// the initial events).
func (wt *watcher) bookmark(rv int64, initialEnd bool) error {
	meta := bookmarkMeta{ResourceVersion: strconv.FormatInt(rv, 10)}
	if initialEnd {
		meta.Annotations = map[string]string{metav1.InitialEventsAnnotationKey: "true"}
	}
	tm := metav1.TypeMeta{Kind: wt.t.kind(), APIVersion: wt.t.apiVersion()}
	switch wt.out.kind {
	case asTable:
		tm = metav1.TypeMeta{Kind: "Table", APIVersion: metav1.GroupName + "/" + wt.out.metaVersion}
	case asPartial:
		tm = metav1.TypeMeta{Kind: "PartialObjectMetadata", APIVersion: metav1.GroupName + "/" + wt.out.metaVersion}
	}
	return wt.send(watch.Bookmark, &bookmarkObject{TypeMeta: tm, Metadata: meta})
}

type bookmarkMeta struct {
	ResourceVersion string            `json:"resourceVersion"`
	Annotations     map[string]string `json:"annotations,omitempty"`
}

type bookmarkObject struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        bookmarkMeta `json:"metadata"`
}

type watchEvent struct {
	Type   watch.EventType `json:"type"`
	Object any             `json:"object"`
}

// send writes one newline-delimited event and flushes it to the client.
func (wt *watcher) send(typ watch.EventType, obj any) error {
	b, err := json.Marshal(watchEvent{Type: typ, Object: obj})
	if err != nil {
		return fmt.Errorf("encode watch event: %w", err)
	}
	_ = wt.rc.SetWriteDeadline(wt.writeDeadline())
	if _, err := wt.w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("%w: %v", errClientGone, err)
	}
	if err := wt.rc.Flush(); err != nil {
		return fmt.Errorf("%w: %v", errClientGone, err)
	}
	// Idle until the next event: on HTTP/2 a write deadline is a timer that
	// resets the stream even with no write pending.
	_ = wt.rc.SetWriteDeadline(wt.end)
	return nil
}

func resourceVersionOf(m *metav1.ObjectMeta) int64 {
	rv, _ := strconv.ParseInt(m.ResourceVersion, 10, 64)
	return rv
}
