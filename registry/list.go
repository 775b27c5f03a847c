package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"go.podman.io/image/v5/pkg/sysregistriesv2"
)

// maxListBytes caps one page of a tag list or catalog.
const maxListBytes = 16 << 20

// pageSize is asked of registries that paginate; they may answer with fewer
// (ECR caps it at 1000).
const pageSize = 1000

// maxPages bounds a listing, so a registry that links pages in a circle
// cannot keep a run busy forever.
const maxPages = 100000

// tagPattern is the reference grammar's tag: what a registry may list.
var tagPattern = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)

// Tags lists every tag of the repository from the registry itself (never a
// mirror: a pull-through cache lists only what it has cached), following
// Link headers to the last page. Entries that are not tags are skipped with
// a warning naming them: a null (Nexus) or a digest such as sha256:<hex>
// (Artifactory lists them beside tags) cannot be pulled as a tag, and
// asking for one would fetch by digest or fail.
func (r *Repository) Tags(ctx context.Context) ([]string, error) {
	s := r.origin
	h, err := r.c.hostFor(ctx, s.host, s.insecure)
	if err != nil {
		return nil, err
	}
	var tags []string
	skipped := 0
	err = r.c.paginate(ctx, h, "/v2/"+s.path+"/tags/list?n="+fmt.Sprint(pageSize), s.scope, s, func(body []byte) error {
		var page struct {
			Tags []*string `json:"tags"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return fmt.Errorf("tag list of %s: %w", r.name.Name(), err)
		}
		for _, t := range page.Tags {
			switch {
			case t == nil:
				skipped++
				r.c.log.Warn("tag list entry skipped: null is not a tag", "repository", r.name.Name())
			case !tagPattern.MatchString(*t):
				skipped++
				r.c.log.Warn("tag list entry skipped: not a valid tag (a digest or a malformed name)", "repository", r.name.Name(), "entry", truncate(*t, 200))
			default:
				tags = append(tags, *t)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return tags, nil
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
	src := &Source{host: apiHost(registryHost), insecure: insecure, creds: c.creds.forRegistry(ctx, registryHost)}
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
	if err != nil && noCatalog(err) {
		return nil, fmt.Errorf("%s: %w; name its repositories instead (regimport import --all-tags %s/NAMESPACE/REPOSITORY, or `repository:` sources in the configuration): %w",
			registryHost, ErrNoCatalog, registryHost, err)
	}
	return repos, err
}

// noCatalog tells the answers of registries that do not offer _catalog:
// 401/403 for the registry:catalog:* scope (Docker Hub, GHCR), 404, 405, or
// distribution's UNSUPPORTED.
func noCatalog(err error) bool {
	var he *HTTPError
	if !errors.As(err, &he) {
		return false
	}
	switch he.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusMethodNotAllowed:
		return true
	}
	for _, code := range he.Codes {
		if code == "UNSUPPORTED" {
			return true
		}
	}
	return false
}

// paginate GETs path and every rel="next" page after it, on the same host only.
func (c *Client) paginate(ctx context.Context, h *host, path, scope string, s *Source, each func([]byte) error) error {
	next := h.scheme + "://" + h.name + path
	seen := map[string]bool{}
	for pages := 0; next != ""; pages++ {
		if pages >= maxPages {
			return fmt.Errorf("%s: more than %d pages", redactURL(next), maxPages)
		}
		if seen[next] {
			return fmt.Errorf("%s: the registry's Link header leads back to a page already read", redactURL(next))
		}
		seen[next] = true
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

// nextLink resolves a Link header's rel="next" target (RFC 8288: the
// relation quoted or not, among other parameters) against the current URL,
// and refuses a link to another host. The same host with its scheme's
// default port spelled out is the same host.
func nextLink(current string, links []string) (string, error) {
	base, err := url.Parse(current)
	if err != nil {
		return "", err
	}
	for _, l := range links {
		for _, part := range splitLinks(l) {
			target, params, ok := strings.Cut(part, ";")
			if !ok || !relNext(params) {
				continue
			}
			target = strings.TrimSpace(target)
			if !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				return "", fmt.Errorf("bad Link header %q: target not in <>", truncate(l, 200))
			}
			u, err := base.Parse(target[1 : len(target)-1])
			if err != nil {
				return "", fmt.Errorf("bad Link header %q: %w", truncate(l, 200), err)
			}
			if u.Scheme != base.Scheme || hostPort(u) != hostPort(base) {
				return "", fmt.Errorf("Link header points to another host %q", u.Host)
			}
			u.Host = base.Host
			return u.String(), nil
		}
	}
	return "", nil
}

// splitLinks splits a Link header at the commas between links, not the ones
// inside <...> or quotes.
func splitLinks(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i, r := range v {
		switch {
		case r == '"':
			quoted = !quoted
		case quoted:
		case r == '<':
			depth++
		case r == '>':
			depth--
		case r == ',' && depth == 0:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// relNext reports whether link parameters hold rel=next (quoted or not; rel
// may list several relations).
func relNext(params string) bool {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
			continue
		}
		for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(v), `"`)) {
			if strings.EqualFold(rel, "next") {
				return true
			}
		}
	}
	return false
}

// hostPort is the URL's host with its port, the scheme's default filled in.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}
