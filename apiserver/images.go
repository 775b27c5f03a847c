package apiserver

import (
	"context"
	"errors"
	"net/http"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
)

func (s *Server) presentImage(t target, img *imagev1.Image) presented {
	img.APIVersion = t.apiVersion()
	if !t.includeRaw {
		withoutRaw(img)
	}
	return presented{meta: &img.ObjectMeta, obj: img, cells: func() []any { return s.imageCells(img) }}
}

func (s *Server) getImage(w http.ResponseWriter, r *http.Request, t target, out output) {
	img, err := s.cat.GetImage(r.Context(), t.name)
	if errors.Is(err, catalog.ErrNotFound) {
		err = notFound(t)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := single(out, imageColumns(), s.presentImage(t, img))
	if err == nil {
		err = writeObject(w, out, v)
	}
	if err != nil {
		s.writeError(w, r, err)
	}
}

// imagePager pages through the catalog's images by name; name, when set,
// restricts it to that one image.
func (s *Server) imagePager(t target, name string) pager[imagev1.Image] {
	var names []string
	if name != "" {
		names = []string{name}
	}
	return pager[imagev1.Image]{
		fetch: func(ctx context.Context, after string, n int) ([]imagev1.Image, int64, int64, error) {
			page, err := s.cat.ListImages(ctx, catalog.ListOptions{After: after, Names: names, Limit: n, WithoutRaw: !t.includeRaw})
			return page.Items, page.ResourceVersion, page.Remaining, err
		},
		key:     func(img *imagev1.Image) string { return img.Name },
		present: func(img *imagev1.Image) presented { return s.presentImage(t, img) },
	}
}

func (s *Server) listImages(w http.ResponseWriter, r *http.Request, t target, out output) {
	q, err := parseQuery(r, t)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	serveList(s, w, r, t, out, q, s.imagePager(t, q.name), q.matchImage)
}
