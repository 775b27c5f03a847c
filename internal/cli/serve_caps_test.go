package cli

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/regimport/regimport/internal/dbtest"
)

// TestServeCapsHeaders: `regimport serve` refuses a request whose headers
// exceed its 32 KiB cap with 431, and keeps serving.
func TestServeCapsHeaders(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	serveTestCatalog(t, db, 0, 1)
	url, _, _ := startServe(t, "--db", db)
	req, _ := http.NewRequest("GET", url+"/apis/image.openshift.io/v1/images", nil)
	req.Header.Set("X-Padding", strings.Repeat("a", 64<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KiB of headers: %d, want 431", resp.StatusCode)
	}
	resp, err = http.Get(url + "/apis/image.openshift.io/v1/images")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a normal request after the refused one: %d", resp.StatusCode)
	}
}

// TestServeCapsHeaderTime: a client that never finishes its headers (one
// byte at a time, slowloris-style) is cut off after the 10 s header
// timeout instead of holding a connection for ever.
func TestServeCapsHeaderTime(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 10 s header timeout")
	}
	t.Parallel()
	db := dbtest.New(t)
	serveTestCatalog(t, db, 0, 1)
	url, _, _ := startServe(t, "--db", db)
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	closed := make(chan time.Duration, 1)
	go func() {
		// Blocks until the server closes the connection.
		_, _ = bufio.NewReader(conn).ReadString('\n')
		closed <- time.Since(start)
	}()
	request := "GET /apis/image.openshift.io/v1/images HTTP/1.1\r\nHost: x\r\nX-Slow: "
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case took := <-closed:
			if took < 9*time.Second || took > 15*time.Second {
				t.Errorf("the server closed a connection with unfinished headers after %s, want about 10 s", took)
			}
			return
		case <-tick.C:
			if time.Since(start) > 20*time.Second {
				t.Fatal("a connection whose headers never end is still open after 20 s")
			}
			if i < len(request) {
				conn.Write([]byte{request[i]})
			} else {
				conn.Write([]byte("a"))
			}
		}
	}
}
