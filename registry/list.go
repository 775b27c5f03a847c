package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"go.podman.io/image/v5/pkg/sysregistriesv2"
)

// Caps on listings (tag lists and catalogs). A listing over one of them
// fails: a shorter list that looks complete would make an import miss tags
// and, worse, let removal detection take the missing ones for deleted.
const (
	// MaxListPageBytes caps one page.
	MaxListPageBytes = 16 << 20
	// MaxListingBytes caps all the pages of one listing together.
	MaxListingBytes = 256 << 20
	// DefaultMaxTags is the default of Options.MaxTags, the tags of one
	// repository.
	DefaultMaxTags = 100000
)

// pageSize is asked of registries that paginate; they may answer with fewer
// (ECR caps it at 1000).
const pageSize = 1000

// maxPages bounds a listing, as a last resort: a page must add an entry
// not seen before (paginate), so a listing within its caps ends first.
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
	seen := map[string]bool{}
	limit := r.c.opts.MaxTags
	err = r.c.paginate(ctx, h, "/v2/"+s.path+"/tags/list?n="+fmt.Sprint(pageSize), s.scope, s, func(body []byte) (int, error) {
		var page struct {
			Tags []*string `json:"tags"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return 0, fmt.Errorf("tag list of %s: %w", r.name.Name(), err)
		}
		added := 0
		for _, t := range page.Tags {
			switch {
			case t == nil:
				r.c.log.Warn("tag list entry skipped: null is not a tag", "repository", r.name.Name())
			case seen[*t]:
				// Listed again: no progress, and no second copy.
			case !tagPattern.MatchString(*t):
				seen[*t] = true
				added++ // new, if no tag: a page of such entries is progress through the list
				r.c.log.Warn("tag list entry skipped: not a valid tag (a digest or a malformed name)", "repository", r.name.Name(), "entry", truncate(*t, 200))
			default:
				seen[*t] = true
				added++
				if len(tags) == limit {
					return 0, fmt.Errorf("tag list of %s: %w: more than %d tags, the max-listed-tags cap per repository", r.name.Name(), ErrTooLarge, limit)
				}
				tags = append(tags, *t)
			}
		}
		return added, nil
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
	seen := map[string]bool{}
	err = c.paginate(ctx, h, "/v2/_catalog?n="+fmt.Sprint(pageSize), "registry:catalog:*", src, func(body []byte) (int, error) {
		var page struct {
			Repositories []string `json:"repositories"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return 0, fmt.Errorf("catalog of %s: %w", registryHost, err)
		}
		added := 0
		for _, r := range page.Repositories {
			if seen[r] {
				continue
			}
			seen[r] = true
			added++
			if strings.HasPrefix(r, prefix) {
				repos = append(repos, r)
			}
		}
		return added, nil
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

// paginate GETs path and every rel="next" page after it, on the same host
// only. each returns how many entries of a page were new; a page with none
// that links on makes no progress (a registry repeating itself under new
// query strings), and the listing fails there. Pages are capped at
// MaxListPageBytes each and MaxListingBytes together.
func (c *Client) paginate(ctx context.Context, h *host, path, scope string, s *Source, each func([]byte) (int, error)) error {
	next := h.scheme + "://" + h.name + path
	seen := map[string]bool{}
	var total int64
	for pages := 0; next != ""; pages++ {
		if pages >= maxPages {
			return fmt.Errorf("%s: more than %d pages", redactURL(next), maxPages)
		}
		if seen[next] {
			return fmt.Errorf("%s: the registry's Link header leads back to a page already read", redactURL(next))
		}
		seen[next] = true
		resp, err := c.do(ctx, h, request{method: http.MethodGet, url: next, accept: []string{"application/json"},
			scope: scope, creds: s.creds, maxBody: min(MaxListPageBytes, MaxListingBytes-total)})
		if err != nil {
			if errors.Is(err, ErrTooLarge) && total > 0 && MaxListingBytes-total < MaxListPageBytes {
				return fmt.Errorf("%w: the listing's pages together are over %d bytes (MaxListingBytes)", err, MaxListingBytes)
			}
			return err
		}
		total += int64(len(resp.body))
		// Registries label listings application/json, some text/plain; an
		// HTML page is a proxy's or a login page's, never a listing.
		if mt, _, _ := mime.ParseMediaType(resp.header.Get("Content-Type")); mt == "text/html" {
			return fmt.Errorf("%s: answered %s, not a JSON listing", redactURL(next), mt)
		}
		added, err := each(resp.body)
		if err != nil {
			return err
		}
		page := next
		if next, err = nextLink(next, resp.header.Values("Link")); err != nil {
			return err
		}
		if next != "" && added == 0 {
			return fmt.Errorf("%s: page %d adds no new tag or repository yet links to another page: the registry's paging makes no progress", redactURL(page), pages+1)
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
