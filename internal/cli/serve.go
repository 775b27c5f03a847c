package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/apiserver"
	"github.com/regimport/regimport/catalog"
)

// maxTokenFileBytes caps --token-file: a token is a line, not a document.
const maxTokenFileBytes = 4 << 10

type serveFlags struct {
	db, listen, tokenFile, tlsCert, tlsKey string
	insecureListenAny                      bool
	insecureTrustedNetwork                 bool
	watchPoll                              time.Duration
	allowedHosts                           stringList
	limits                                 apiserver.Limits
	log                                    logFlags
}

func runServe(ctx context.Context, args []string, s Streams) int {
	var f serveFlags
	fs := newFlagSet("serve", s)
	fs.StringVar(&f.db, "db", "catalog.db", dbUsage+", opened read-only (an import may write it meanwhile)")
	fs.StringVar(&f.listen, "listen", "", "address to listen on (default 127.0.0.1:8080, or 127.0.0.1:8443 with TLS; port 0 picks one)")
	fs.StringVar(&f.tokenFile, "token-file", "", "file holding the bearer token every request but /healthz, /livez and /readyz must present")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "PEM certificate (chain) to serve HTTPS with; needs --tls-key")
	fs.StringVar(&f.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	fs.BoolVar(&f.insecureListenAny, "insecure-listen-any", false, "allow a non-loopback --listen without --token-file: anyone who reaches it reads the catalog")
	fs.BoolVar(&f.insecureTrustedNetwork, "insecure-trusted-network", false, "allow --token-file on a non-loopback --listen without --tls-cert: the token then crosses the network in clear, so only where nobody else can read the traffic")
	fs.Var(&f.allowedHosts, "allowed-host", "on a loopback --listen, also answer requests for this Host (a name, on the listening port, or name:port; repeatable). Other names get 403, against DNS rebinding")
	fs.DurationVar(&f.limits.RequestTimeout, "request-timeout", apiserver.DefaultRequestTimeout, "longest time for a request other than a watch, reading it, answering it and sending the answer; a slower client is cut")
	fs.DurationVar(&f.limits.MaxWatchTimeout, "max-watch-timeout", apiserver.DefaultMaxWatchTimeout, "longest a watch lasts: a larger timeoutSeconds gets this, a watch without one a random time between half of it and it; clients then watch again")
	fs.IntVar(&f.limits.MaxWatches, "max-watches", apiserver.DefaultMaxWatches, "watches served at a time, all clients together; the next one gets 429 with Retry-After")
	fs.IntVar(&f.limits.MaxWatchesPerClient, "max-watches-per-client", apiserver.DefaultMaxWatchesPerClient, "watches served at a time to one client address; the next one gets 429 with Retry-After")
	fs.IntVar(&f.limits.MaxPageSize, "max-page-size", apiserver.DefaultMaxPageSize, "most objects in one list page: a larger limit gets this many and a continue token for the rest")
	fs.DurationVar(&f.watchPoll, "watch-poll-interval", 250*time.Millisecond, "how often watches look for newly imported images (on PostgreSQL a fallback: writers' notifications wake watches at once)")
	f.log.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(s.Err, "Usage: regimport serve [--db FILE] [--listen ADDR] [--token-file FILE] [--tls-cert FILE --tls-key FILE]\n\n"+
			"Serves the catalog read-only as OpenShift's Image API (image.openshift.io/v1), for kubectl, oc and client-go.\n\nFlags:")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if isHelp(err) {
			return ExitOK
		}
		return ExitUsage
	}
	if len(pos) > 0 {
		return fail(s, ExitUsage, "serve: unexpected argument %q", pos[0])
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return fail(s, ExitUsage, "serve: --tls-cert and --tls-key go together")
	}
	if f.watchPoll < 10*time.Millisecond {
		return fail(s, ExitUsage, "serve: --watch-poll-interval must be at least 10ms")
	}
	if err := checkServeLimits(f.limits); err != nil {
		return fail(s, ExitUsage, "serve: %v", err)
	}
	if f.listen == "" {
		f.listen = "127.0.0.1:8080"
		if f.tlsCert != "" {
			f.listen = "127.0.0.1:8443"
		}
	}
	host, _, err := net.SplitHostPort(f.listen)
	if err != nil {
		return fail(s, ExitUsage, "serve: --listen %q: %v", f.listen, err)
	}
	if !isLoopback(host) && f.tokenFile == "" && !f.insecureListenAny {
		return fail(s, ExitUsage, "serve: refusing to listen on %s without --token-file: anyone who can reach it would read the catalog. "+
			"Give --token-file, listen on 127.0.0.1, or pass --insecure-listen-any if that is really intended", f.listen)
	}
	if !isLoopback(host) && f.tokenFile != "" && f.tlsCert == "" && !f.insecureTrustedNetwork {
		return fail(s, ExitUsage, "serve: refusing to accept a bearer token on %s without TLS: every client would send it in clear, "+
			"for anyone on the network to read and reuse. Give --tls-cert and --tls-key, listen on 127.0.0.1, "+
			"or pass --insecure-trusted-network if nobody else can read this network's traffic", f.listen)
	}
	if len(f.allowedHosts) > 0 && !isLoopback(host) {
		return fail(s, ExitUsage, "serve: --allowed-host applies to a loopback --listen only; on %s every Host is answered", f.listen)
	}
	token, err := readToken(f.tokenFile)
	if err != nil {
		return fail(s, ExitUsage, "serve: %v", err)
	}
	var tlsConfig *tls.Config
	if f.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return fail(s, ExitUsage, "serve: --tls-cert/--tls-key: %v", err)
		}
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	log, err := f.log.logger(s.Err)
	if err != nil {
		return fail(s, ExitUsage, "serve: %v", err)
	}

	cat, err := catalogdb.Open(ctx, f.db, catalog.Options{ReadOnly: true, Logger: log})
	if err != nil {
		return fail(s, ExitFatal, "serve: %v", err)
	}
	defer cat.Close()
	opts := apiserver.Options{Logger: log, Token: token, WatchPollInterval: f.watchPoll, Limits: f.limits}
	if isLoopback(host) {
		// A web page whose name resolves to 127.0.0.1 sends its own Host.
		opts.AllowedHosts = append([]string{"localhost", "127.0.0.1", "::1"}, f.allowedHosts...)
	}
	if catalog.IsPostgres(f.db) {
		// Writers in any process NOTIFY at commit: watches wake at once, and
		// poll as before should the listening connection be lost.
		feedCtx, stopFeed := context.WithCancel(context.WithoutCancel(ctx))
		feed, err := catalogdb.ListenForChanges(feedCtx, f.db, log)
		if err != nil {
			stopFeed()
			return fail(s, ExitFatal, "serve: %v", err)
		}
		defer func() { stopFeed(); <-feed.Done() }()
		opts.Changes = feed
	}
	api, err := apiserver.New(cat, opts)
	if err != nil {
		return fail(s, ExitFatal, "serve: %v", err)
	}
	if err := listenAndServe(ctx, f.listen, tlsConfig, api, log, f.db, token != ""); err != nil {
		return fail(s, ExitFatal, "serve: %v", err)
	}
	return ExitOK
}

// listenAndServe serves until ctx ends (SIGINT or SIGTERM), then shuts down
// gracefully: watches are ended, other requests get up to 10s to finish.
func listenAndServe(ctx context.Context, addr string, tlsConfig *tls.Config, api *apiserver.Server, log *slog.Logger, db string, auth bool) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := api.HTTPServer(tlsConfig, slog.NewLogLogger(log.Handler(), slog.LevelWarn))
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	errc := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	log.Info(fmt.Sprintf("serving on %s://%s", scheme, ln.Addr()), "db", catalog.RedactDB(db), "auth", auth)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// checkServeLimits refuses limits that would stop the server from serving.
func checkServeLimits(l apiserver.Limits) error {
	switch {
	case l.RequestTimeout < time.Second:
		return errors.New("--request-timeout must be at least 1s")
	case l.MaxWatchTimeout < time.Second:
		return errors.New("--max-watch-timeout must be at least 1s")
	case l.MaxWatches < 1 || l.MaxWatchesPerClient < 1:
		return errors.New("--max-watches and --max-watches-per-client must be at least 1")
	case l.MaxPageSize < 1:
		return errors.New("--max-page-size must be at least 1")
	}
	return nil
}

// isLoopback says whether a listen host only accepts local connections; an
// empty host listens on every interface.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// readToken reads the bearer token: the file's content without surrounding
// white space. "" means no file was given.
func readToken(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxTokenFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("--token-file %s: %w", path, err)
	}
	if len(b) > maxTokenFileBytes {
		return "", fmt.Errorf("--token-file %s: longer than %d bytes; it must hold just the token", path, maxTokenFileBytes)
	}
	token := strings.TrimSpace(string(b))
	if token == "" || strings.ContainsAny(token, " \t\r\n") {
		return "", fmt.Errorf("--token-file %s: must hold one token on one line", path)
	}
	return token, nil
}
