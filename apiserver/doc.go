// Package apiserver serves the catalog read-only over HTTP in the schema of
// OpenShift's Image API, so that kubectl, oc and the typed clients and
// informers of github.com/openshift/client-go work against it unmodified.
//
// # What it serves
//
//   - /apis/image.openshift.io/v1/images and .../images/{name}: get, list and
//     watch (?watch=true or the /watch/ path forms). The legacy
//     /oapi/v1/images forms serve the same objects with apiVersion v1.
//   - /apis/image.openshift.io/v1/namespaces/{ns}/imagestreams[/{name}] and the
//     cluster-wide /imagestreams: get and list (not watch), through an
//     ImageStreamReader: the catalog itself when it holds image streams,
//     else none (empty lists).
//   - Discovery (/api, /apis, /apis/image.openshift.io, .../v1, /oapi, /oapi/v1),
//     /version, /healthz, /livez, /readyz and /metrics (Prometheus).
//
// Every write verb answers 405 MethodNotAllowed. Errors are metav1.Status
// objects built with k8s.io/apimachinery/pkg/api/errors, so reasons, codes and
// messages are the apiserver's. Query parameters are decoded and validated by
// apimachinery's own ListOptions codec and validation.
//
// # Resource versions without MVCC
//
// The catalog keeps current state plus a change log whose ids are the
// resourceVersions; it cannot show the past. The server therefore answers:
//
//   - list with resourceVersion "" or "0": the current state. With N (legacy
//     match or NotOlderThan): the current state, which is at least as fresh as
//     N. If N is newer than the catalog, the server waits up to
//     Options.ResourceVersionWait for it and then answers 504 Timeout with the
//     ResourceVersionTooLarge cause, as the apiserver does.
//   - resourceVersionMatch=Exact (and the legacy form of it, resourceVersion=N
//     with a limit): served when no image changed after N, else 410 Expired.
//   - A list's metadata.resourceVersion is read before its first item, so a
//     watch started from it replays every change the list may have missed; an
//     item may be fresher than that version, never older.
//
// # Continue tokens
//
// A token is base64url(JSON {"v":"meta.k8s.io/v1","rv":N,"start":NAME}): the
// resourceVersion of the walk's first page and the last name returned. Pages
// are keyset pages by name, so a walk returns every image that existed
// throughout it exactly once, whatever is imported meanwhile, and every page
// reports N. A token is honoured while N is not newer than the catalog and the
// change log still holds every change after N; otherwise (a catalog replaced
// by an older copy, or a change log that dropped old entries) it is 410
// Expired with the apiserver's message. A token that does not decode is 400.
//
// # Watch
//
// A watch replays the change log after its start version, fetching each
// object, then reads the log again whenever the catalog's resourceVersion
// moves. One poller reads that resourceVersion every
// Options.WatchPollInterval (or at a writer's notice, Options.Changes) for
// all watches together, so idle watches cost one query per interval. Events carry
// objects whose resourceVersion never goes backwards: an object changed again
// later is sent once, at its latest change. sendInitialEvents=true (and the
// legacy resourceVersion ""/"0" watch) first sends the current objects as
// ADDED, then, with allowWatchBookmarks, a BOOKMARK annotated
// k8s.io/initial-events-end. Bookmarks are also sent every
// Options.BookmarkInterval. A watch ends at timeoutSeconds, when the client
// goes away, or when StopWatches is called for a graceful shutdown.
//
// # Limits
//
// Options.Limits bound what clients can take (defaults in parentheses):
//
//   - Requests other than watches end after RequestTimeout (1m): their
//     context's deadline, and the connection's read and write deadlines of the
//     http.Server that HTTPServer builds (which also bounds the request head
//     to 10s, idle connections to 2m and heads to 32 KiB). A client that
//     sends or reads too slowly is cut.
//   - A watch lasts timeoutSeconds, at most MaxWatchTimeout (1h); without
//     timeoutSeconds a random time between half of that and all of it. Each
//     event must be written within RequestTimeout, or the watch is cut.
//   - MaxWatches (1000) in all and MaxWatchesPerClient (100) per remote
//     address: the next watch gets 429 TooManyRequests with Retry-After: 1,
//     which client-go waits out and retries.
//   - A list page holds at most MaxPageSize (1000) objects: a larger limit
//     gets that many and a continue token, which the API allows.
//   - Options.AllowedHosts, set on loopback, answers only those Host headers
//     (403 for others), against DNS rebinding.
//
// A Server is safe for concurrent use. It only reads the catalog.
package apiserver
