package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
)

// noImageStreams is the ImageStreamReader of a catalog without image streams.
type noImageStreams struct{ cat Reader }

func (n noImageStreams) ListImageStreams(ctx context.Context, _, _ string, _ int) ([]imagev1.ImageStream, int64, int64, error) {
	rv, err := n.cat.ResourceVersion(ctx)
	return nil, rv, 0, err
}

func (noImageStreams) GetImageStream(_ context.Context, namespace, name string) (*imagev1.ImageStream, error) {
	return nil, fmt.Errorf("image stream %s/%s: %w", namespace, name, catalog.ErrNotFound)
}

func (s *Server) presentStream(t target, is *imagev1.ImageStream) presented {
	is.Kind, is.APIVersion = "ImageStream", t.apiVersion()
	return presented{meta: &is.ObjectMeta, obj: is, cells: func() []any { return s.streamCells(is) }}
}

func (s *Server) getImageStream(w http.ResponseWriter, r *http.Request, t target, out output) {
	is, err := s.streams.GetImageStream(r.Context(), t.namespace, t.name)
	if errors.Is(err, catalog.ErrNotFound) {
		err = notFound(t)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := single(out, streamColumns(), s.presentStream(t, is))
	if err == nil {
		err = writeObject(w, out, v)
	}
	if err != nil {
		s.writeError(w, r, err)
	}
}

// listImageStreams pages by namespace/name, the order the reader keeps.
func (s *Server) listImageStreams(w http.ResponseWriter, r *http.Request, t target, out output) {
	q, err := parseQuery(r, t)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := pager[imagev1.ImageStream]{
		fetch: func(ctx context.Context, after string, n int) ([]imagev1.ImageStream, int64, int64, error) {
			return s.streams.ListImageStreams(ctx, t.namespace, after, n)
		},
		key:     func(is *imagev1.ImageStream) string { return is.Namespace + "/" + is.Name },
		present: func(is *imagev1.ImageStream) presented { return s.presentStream(t, is) },
	}
	serveList(s, w, r, t, out, q, p, q.matchStream)
}
