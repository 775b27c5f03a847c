package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/regimport/regimport/importer"
	"golang.org/x/term"
)

// progressBar draws done/total, rate, ETA and failures on one terminal line,
// redrawn a few times a second. It is an importer.Progress.
type progressBar struct {
	w     io.Writer
	start time.Time

	mu                  sync.Mutex
	total, done, failed int

	stop chan struct{}
	wg   sync.WaitGroup
}

// newProgressBar returns nil when no bar should be drawn: mode never, or
// auto with w not a terminal (cron, pipes, CI).
func newProgressBar(w io.Writer, mode string) *progressBar {
	switch mode {
	case "never":
		return nil
	case "auto":
		f, ok := w.(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return nil
		}
	}
	b := &progressBar{w: w, start: time.Now(), stop: make(chan struct{})}
	b.wg.Add(1)
	go b.loop()
	return b
}

func (b *progressBar) Start(total int) {
	b.mu.Lock()
	b.total = total
	b.mu.Unlock()
}

func (b *progressBar) Done(r importer.Result) {
	b.mu.Lock()
	b.done++
	if r.Err != nil {
		b.failed++
	}
	b.mu.Unlock()
}

func (b *progressBar) loop() {
	defer b.wg.Done()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			b.draw(true)
			return
		case <-t.C:
			b.draw(false)
		}
	}
}

// Stop draws the final state and ends the line.
func (b *progressBar) Stop() {
	close(b.stop)
	b.wg.Wait()
}

func (b *progressBar) draw(final bool) {
	b.mu.Lock()
	total, done, failed := b.total, b.done, b.failed
	b.mu.Unlock()
	fmt.Fprint(b.w, "\r"+renderProgress(total, done, failed, time.Since(b.start))+"\x1b[K")
	if final {
		fmt.Fprintln(b.w)
	}
}

// renderProgress is the bar's text: [=====>    ] 120/500 24.0/s ETA 16s 2 failed.
func renderProgress(total, done, failed int, elapsed time.Duration) string {
	const width = 30
	filled := 0
	if total > 0 {
		filled = min(width, done*width/total)
	}
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	eta := "?"
	if rate > 0 && total >= done {
		eta = (time.Duration(float64(total-done)/rate) * time.Second).Round(time.Second).String()
	}
	line := fmt.Sprintf("[%s] %d/%d %.1f/s ETA %s", bar, done, total, rate, eta)
	if failed > 0 {
		line += fmt.Sprintf(" %d failed", failed)
	}
	return line
}
