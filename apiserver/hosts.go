package apiserver

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// hostAllowlist is the guard against DNS rebinding on loopback: a web page
// whose name an attacker points at 127.0.0.1 sends its own name as Host.
type hostAllowlist struct {
	anyPort map[string]bool // names allowed on the port the request came in on
	exact   map[string]bool // host:port pairs allowed as they are
	text    string          // for the message
}

// newHostAllowlist reads entries "name" (on the listening port) or
// "name:port"; IPv6 addresses in brackets or not.
func newHostAllowlist(entries []string) (*hostAllowlist, error) {
	if entries == nil {
		return nil, nil
	}
	a := &hostAllowlist{anyPort: map[string]bool{}, exact: map[string]bool{}}
	var names []string
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if host, port, err := net.SplitHostPort(e); err == nil {
			if _, err := strconv.ParseUint(port, 10, 16); err != nil || host == "" {
				return nil, fmt.Errorf("apiserver: allowed host %q: want a name or name:port", e)
			}
			a.exact[strings.ToLower(host)+":"+port] = true
			names = append(names, e)
			continue
		}
		name := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(e, "["), "]"))
		if name == "" || strings.ContainsAny(name, "/ ") {
			return nil, fmt.Errorf("apiserver: allowed host %q: want a name or name:port", e)
		}
		a.anyPort[name] = true
		if strings.Contains(name, ":") {
			name = "[" + name + "]"
		}
		names = append(names, name)
	}
	a.text = strings.Join(names, ", ")
	return a, nil
}

// check returns the 403 to send when the Host header is not allowed.
func (a *hostAllowlist) check(r *http.Request) error {
	if a == nil {
		return nil
	}
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		host, port = strings.TrimSuffix(strings.TrimPrefix(r.Host, "["), "]"), "80"
		if r.TLS != nil {
			port = "443"
		}
	}
	host = strings.ToLower(host)
	if a.exact[host+":"+port] {
		return nil
	}
	if a.anyPort[host] {
		if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			if _, local, err := net.SplitHostPort(la.String()); err == nil && local == port {
				return nil
			}
		}
	}
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden,
		Message: fmt.Sprintf("Host %q is not allowed: this server listens on loopback and answers only requests for %s "+
			"on the port it listens on, so that a web page cannot read the catalog through DNS rebinding "+
			"(regimport serve --allowed-host adds names)", r.Host, a.text),
	}}
}
