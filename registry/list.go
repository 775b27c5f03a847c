package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"go.podman.io/image/v5/pkg/docker/config"
	"go.podman.io/image/v5/pkg/sysregistriesv2"
)

// maxListBytes caps one page of a tag list or catalog.
const maxListBytes = 16 << 20

// pageSize is asked of registries that paginate; they may answer with fewer.
const pageSize = 1000

// Tags lists every tag of the repository, following Link headers.
func (r *Repository) Tags(ctx context.Context) ([]string, error) {
	var lastErr error
	for _, s := range r.byTag {
		h, err := r.c.hostFor(ctx, s.host, s.insecure)
		if err != nil {
			lastErr = err
			continue
		}
		var tags []string
		err = r.c.paginate(ctx, h, "/v2/"+s.path+"/tags/list?n="+fmt.Sprint(pageSize), s.scope, s, func(body []byte) error {
			var page struct {
				Tags []string `json:"tags"`
			}
			if err := json.Unmarshal(body, &page); err != nil {
				return fmt.Errorf("tag list of %s: %w", r.name.Name(), err)
			}
			tags = append(tags, page.Tags...)
			return nil
		})
		if err != nil {
			lastErr = err
			continue
		}
		return tags, nil
	}
	return nil, lastErr
}

// Catalog lists the repositories of a registry host from /v2/_catalog,
// following Link headers. With a namespace ("team/"), only repositories under it.
func (c *Client) Catalog(ctx context.Context, registryHost, namespace string) ([]string, error) {
	insecure := false
	if reg, err := sysregistriesv2.FindRegistry(c.opts.Sys, registryHost); err != nil {
		return nil, fmt.Errorf("registries.conf for %s: %w", registryHost, err)
	} else if reg != nil {
		if reg.Blocked {
			return nil, fmt.Errorf("%s: %w", registryHost, ErrBlocked)
		}
		insecure = reg.Insecure
	}
	src := &Source{host: apiHost(registryHost), insecure: insecure}
	if creds, err := config.GetCredentials(c.opts.Sys, registryHost); err == nil {
		src.creds = creds
	} else {
		c.log.Warn("cannot read credentials", "registry", registryHost, "error", err)
	}
	h, err := c.hostFor(ctx, src.host, insecure)
	if err != nil {
		return nil, err
	}
	prefix := strings.Trim(namespace, "/")
	if prefix != "" {
		prefix += "/"
	}
	var repos []string
	err = c.paginate(ctx, h, "/v2/_catalog?n="+fmt.Sprint(pageSize), "registry:catalog:*", src, func(body []byte) error {
		var page struct {
			Repositories []string `json:"repositories"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return fmt.Errorf("catalog of %s: %w", registryHost, err)
		}
		for _, r := range page.Repositories {
			if strings.HasPrefix(r, prefix) {
				repos = append(repos, r)
			}
		}
		return nil
	})
	return repos, err
}

// paginate GETs path and every rel="next" page after it, on the same host only.
func (c *Client) paginate(ctx context.Context, h *host, path, scope string, s *Source, each func([]byte) error) error {
	next := h.scheme + "://" + h.name + path
	for pages := 0; next != ""; pages++ {
		if pages >= 100000 {
			return fmt.Errorf("%s: more than %d pages", redactURL(next), pages)
		}
		resp, err := c.do(ctx, h, request{method: http.MethodGet, url: next, accept: []string{"application/json"},
			scope: scope, creds: s.creds, maxBody: maxListBytes})
		if err != nil {
			return err
		}
		if err := each(resp.body); err != nil {
			return err
		}
		if next, err = nextLink(next, resp.header.Values("Link")); err != nil {
			return err
		}
	}
	return nil
}

// nextLink resolves a Link: <...>; rel="next" header against the current URL
// and refuses a link to another host.
func nextLink(current string, links []string) (string, error) {
	for _, l := range links {
		for _, part := range strings.Split(l, ",") {
			target, params, ok := strings.Cut(part, ";")
			if !ok || !strings.Contains(strings.ReplaceAll(params, " ", ""), `rel="next"`) {
				continue
			}
			target = strings.Trim(strings.TrimSpace(target), "<>")
			base, err := url.Parse(current)
			if err != nil {
				return "", err
			}
			u, err := base.Parse(target)
			if err != nil {
				return "", fmt.Errorf("bad Link header %q: %w", truncate(l, 200), err)
			}
			if u.Host != base.Host {
				return "", fmt.Errorf("Link header points to another host %q", u.Host)
			}
			return u.String(), nil
		}
	}
	return "", nil
}
