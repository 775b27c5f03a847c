package apiserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	"github.com/regimport/regimport/catalog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// serveHTTP runs s on loopback behind the http.Server HTTPServer builds,
// with its timeouts, as `regimport serve` does.
func serveHTTP(t *testing.T, r Reader, opts Options) (*Server, string) {
	t.Helper()
	if opts.WatchPollInterval == 0 {
		opts.WatchPollInterval = 20 * time.Millisecond
	}
	s, err := New(r, opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := s.HTTPServer(nil, nil)
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return s, "http://" + ln.Addr().String()
}

// bigImage is an image whose raw manifest is about size bytes.
func bigImage(i, size int) catalog.ImageRecord {
	rec := testImage(i)
	rec.Image.DockerImageManifest = fmt.Sprintf(`{"schemaVersion":2,"n":%d,"pad":"%s"}`, i, strings.Repeat("x", size))
	name := digest.FromString(rec.Image.DockerImageManifest).String()
	rec.Image.Name, rec.Image.DockerImageReference = name, "registry.example.com/app@"+name
	return rec
}

// slowReader connects with a 4 KiB receive buffer, sends one GET and reads
// nothing until told to.
func slowReader(t *testing.T, base, path string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	conn, err := d.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, strings.TrimPrefix(base, "http://"))
	return conn
}

// TestSlowReadingClientIsCut: a list whose client stops reading is cut
// at the request timeout (plus the grace to send a Timeout), instead of
// holding a goroutine and a catalog page for as long as the client likes.
func TestSlowReadingClientIsCut(t *testing.T) {
	f := newFixture(t, 0)
	for i := range 12 {
		f.put(t, bigImage(i, 1<<20))
	}
	// Long enough for the list to start streaming on a loaded machine
	// (under -race, on PostgreSQL); one that could not answers with its
	// Timeout Status instead, and tests nothing of the write deadline.
	const timeout = 3 * time.Second
	_, base := serveHTTP(t, f.reader, Options{Limits: Limits{RequestTimeout: timeout}})
	conn := slowReader(t, base, imagesPath+"?includeManifest=true")
	time.Sleep(timeout + writeGrace + 2*time.Second)

	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response head at all: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the list did not start within the %s request timeout (%s): the write deadline was not reached", timeout, resp.Status)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil {
		t.Fatalf("a client that read nothing for 10 s still got the whole 12 MiB list (%d bytes): no write timeout", n)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("after %d bytes the connection is still open: %v", n, err)
	}
}

// TestWatchClientThatStopsReadingIsCut: each watch event must be through
// within the request timeout; a watcher that stops reading is dropped, not
// kept until timeoutSeconds.
func TestWatchClientThatStopsReadingIsCut(t *testing.T) {
	f := newFixture(t, 0)
	_, base := serveHTTP(t, f.reader, Options{Limits: Limits{RequestTimeout: time.Second}})
	conn := slowReader(t, base, imagesPath+"?watch=true&includeManifest=true&timeoutSeconds=60")
	// The head arrives; the client then reads no events.
	br := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("watch: %v %v", resp, err)
	}
	for i := range 12 {
		f.put(t, bigImage(i, 1<<20))
	}
	time.Sleep(4 * time.Second)

	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	n, err := io.Copy(io.Discard, resp.Body)
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("the watch of a client that stopped reading is still open after %s (%d bytes read then): %v", time.Since(start)+4*time.Second, n, err)
	}
	if n >= 12<<20 {
		t.Errorf("all %d bytes of events arrived: the server never gave up on the client", n)
	}
}

// TestWatchTimeoutIsCapped: a client-go watch asking timeoutSeconds=3600
// ends at the server's MaxWatchTimeout; one asking none ends between half
// of it and it.
func TestWatchTimeoutIsCapped(t *testing.T) {
	f := newFixture(t, 1)
	_, base := serveHTTP(t, f.reader, Options{Limits: Limits{MaxWatchTimeout: 2 * time.Second}})
	c := newClient(t, base, "")
	for _, tc := range []struct {
		timeout  *int64
		min, max time.Duration
	}{
		{ptr(int64(3600)), 1900 * time.Millisecond, 5 * time.Second},
		{nil, 900 * time.Millisecond, 5 * time.Second},
		{ptr(int64(1)), 900 * time.Millisecond, 3 * time.Second},
	} {
		start := time.Now()
		w, err := c.ImageV1().Images().Watch(context.Background(), metav1.ListOptions{TimeoutSeconds: tc.timeout})
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.After(10 * time.Second)
	drain:
		for {
			select {
			case _, ok := <-w.ResultChan():
				if !ok {
					break drain
				}
			case <-deadline:
				w.Stop()
				t.Fatalf("timeoutSeconds %v: the watch is still open after 10 s", deref(tc.timeout))
			}
		}
		if took := time.Since(start); took < tc.min || took > tc.max {
			t.Errorf("timeoutSeconds %v: the watch lasted %s, want %s to %s", deref(tc.timeout), took, tc.min, tc.max)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func deref(p *int64) any {
	if p == nil {
		return "unset"
	}
	return *p
}

// clientFrom is an HTTP client whose connections come from ip (any of
// 127.0.0.0/8 reaches a loopback listener on Linux).
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// TestWatchLimits: watches are capped per client address and in total; the
// next one gets the apiserver's 429 Status with Retry-After, a freed slot
// is taken again, and client-go waits and retries on its own.
func TestWatchLimits(t *testing.T) {
	f := newFixture(t, 1)
	_, base := serveHTTP(t, f.reader, Options{Limits: Limits{MaxWatches: 3, MaxWatchesPerClient: 2}})
	watchURL := base + imagesPath + "?watch=true&timeoutSeconds=60"
	open := func(ip string) (*http.Response, func()) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", watchURL, nil)
		resp, err := clientFrom(ip).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		closeIt := func() { cancel(); resp.Body.Close() }
		t.Cleanup(closeIt)
		return resp, closeIt
	}
	refused := func(resp *http.Response, wantMessage string) {
		t.Helper()
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("watch over the limit: %d %s, want 429", resp.StatusCode, b)
		}
		if ra := resp.Header.Get("Retry-After"); ra != "1" {
			t.Errorf("Retry-After %q, want 1", ra)
		}
		st := decode[metav1.Status](t, b)
		if st.Kind != "Status" || st.Reason != metav1.StatusReasonTooManyRequests || st.Code != 429 ||
			st.Details == nil || st.Details.RetryAfterSeconds != 1 || !strings.Contains(st.Message, wantMessage) {
			t.Errorf("429 body %s", b)
		}
	}

	r1, close1 := open("127.0.0.1")
	r2, _ := open("127.0.0.1")
	for _, r := range []*http.Response{r1, r2} {
		if r.StatusCode != 200 {
			t.Fatalf("watch within the limits: %d", r.StatusCode)
		}
	}
	r3, _ := open("127.0.0.1")
	refused(r3, "at most 2 at a time to one client address")
	r4, _ := open("127.0.0.2")
	if r4.StatusCode != 200 {
		t.Fatalf("another client's first watch: %d, want 200", r4.StatusCode)
	}
	r5, _ := open("127.0.0.3")
	refused(r5, "at most 3 at a time")

	// client-go, refused with Retry-After, tries again and gets the slot
	// the first watch gives up.
	c := newClient(t, base, "")
	got := make(chan error, 1)
	go func() {
		w, err := c.ImageV1().Images().Watch(context.Background(), metav1.ListOptions{TimeoutSeconds: ptr(int64(5))})
		if err == nil {
			w.Stop()
		}
		got <- err
	}()
	time.Sleep(1500 * time.Millisecond)
	select {
	case err := <-got:
		t.Fatalf("client-go's watch did not wait for a slot: %v", err)
	default:
	}
	close1()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("client-go's watch after a slot freed: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("client-go's watch never got the freed slot")
	}
}

// countingReader counts the catalog reads watches make.
type countingReader struct {
	Reader
	versions, changes atomic.Int64
}

func (c *countingReader) ResourceVersion(ctx context.Context) (int64, error) {
	c.versions.Add(1)
	return c.Reader.ResourceVersion(ctx)
}

func (c *countingReader) Changes(ctx context.Context, resource string, after int64, limit int) ([]catalog.Change, error) {
	c.changes.Add(1)
	return c.Reader.Changes(ctx, resource, after, limit)
}

// TestWatchesShareOnePoller: 20 idle watches cost one catalog query per
// poll interval, not two each; a new image still reaches every one of them.
func TestWatchesShareOnePoller(t *testing.T) {
	f := newFixture(t, 1)
	cr := &countingReader{Reader: f.reader}
	const poll = 20 * time.Millisecond
	_, base := serveHTTP(t, cr, Options{WatchPollInterval: poll})
	rv, err := f.reader.ResourceVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var streams []*eventStream
	for range 20 {
		streams = append(streams, openWatch(t, fmt.Sprintf("%s%s?watch=true&resourceVersion=%d&timeoutSeconds=60", base, imagesPath, rv), nil))
	}
	time.Sleep(300 * time.Millisecond)
	before := cr.versions.Load() + cr.changes.Load()
	const idle = time.Second
	time.Sleep(idle)
	queries := cr.versions.Load() + cr.changes.Load() - before
	if ticks := int64(idle / poll); queries > ticks*3/2+5 {
		t.Errorf("20 idle watches made %d catalog queries in %s (%d polls): want about one per poll", queries, idle, ticks)
	}
	t.Logf("20 idle watches: %d catalog queries in %s", queries, idle)

	rec := testImage(7)
	f.put(t, rec)
	for i, es := range streams {
		ev, ok := es.next(t, 10*time.Second)
		if !ok {
			t.Fatalf("watch %d of %d: no event for the new image; poller at %v, %d version reads, %d change reads", i, len(streams), cr.versions.Load(), cr.versions.Load(), cr.changes.Load())
		}
		if ev.Type != "ADDED" || imageOf(t, ev).Name != rec.Image.Name {
			t.Errorf("watch %d: %s %s", i, ev.Type, ev.Object)
		}
	}
}

// TestListPagesAreCapped: a limit above MaxPageSize gets that many objects
// and a continue token, filtered or not; client-go and kubectl, which
// follow continue tokens, still see every image once.
func TestListPagesAreCapped(t *testing.T) {
	const images, maxPage = 30, 7
	f := newFixture(t, images)
	_, base := serveHTTP(t, f.reader, Options{Limits: Limits{MaxPageSize: maxPage}})
	c := newClient(t, base, "")
	want := allNames(t, f.reader)
	for _, sel := range []string{"", "!no-such-label"} {
		var got []string
		opts := metav1.ListOptions{Limit: 1 << 40, LabelSelector: sel}
		for page := 0; ; page++ {
			l, err := c.ImageV1().Images().List(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Items) > maxPage {
				t.Fatalf("selector %q: a page of %d images, cap %d", sel, len(l.Items), maxPage)
			}
			if page == 0 {
				if len(l.Items) != maxPage || l.Continue == "" {
					t.Fatalf("selector %q: first page %d images, continue %q: want %d and a token", sel, len(l.Items), l.Continue, maxPage)
				}
				if sel == "" && (l.RemainingItemCount == nil || *l.RemainingItemCount != images-maxPage) {
					t.Errorf("remainingItemCount %v, want %d", l.RemainingItemCount, images-maxPage)
				}
			}
			for _, img := range l.Items {
				got = append(got, img.Name)
			}
			if l.Continue == "" {
				break
			}
			opts.Continue = l.Continue
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("selector %q: the pages hold %d images, want all %d once in order", sel, len(got), len(want))
		}
	}
	out := runKubectl(t, base, "get", "images.image.openshift.io", "--chunk-size=100000", "-o", "name")
	if n := strings.Count(strings.TrimSpace(out), "\n") + 1; n != images {
		t.Errorf("kubectl --chunk-size=100000 listed %d images, want %d:\n%s", n, images, out)
	}
}
