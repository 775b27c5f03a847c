package apiserver

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// pollTimeout bounds one read of the catalog's resourceVersion by the poller.
const pollTimeout = 10 * time.Second

// versionPoller reads the catalog's resourceVersion for every watch at once:
// one query per poll interval (or per writer's notice) however many watches
// run, instead of two per watch. Watches read the change log only when the
// resourceVersion moved. It runs while at least one watch subscribes.
type versionPoller struct {
	cat      Reader
	interval time.Duration
	notifier ChangeNotifier // nil: poll only
	log      *slog.Logger
	stop     <-chan struct{} // the server's StopWatches

	mu      sync.Mutex
	users   int
	running bool
	rv      int64
	moved   chan struct{} // closed when rv moves; replaced then
	failing bool          // the last read failed (logged once per outage)
}

// subscribe starts the poller if it is not running; call release when the
// watch ends.
func (p *versionPoller) subscribe() (release func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.users++
	if p.moved == nil {
		p.moved = make(chan struct{})
	}
	if !p.running {
		p.running = true
		go p.run()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			p.users--
			p.mu.Unlock()
		})
	}
}

// current is the last resourceVersion read (every change up to it is
// committed) and a channel closed when a later read finds it moved.
func (p *versionPoller) current() (int64, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rv, p.moved
}

func (p *versionPoller) run() {
	tick := time.NewTicker(p.interval)
	defer tick.Stop()
	for {
		var notice <-chan struct{}
		if p.notifier != nil {
			// Taken before reading: a commit after the read closes it.
			notice = p.notifier.Changed()
		}
		ctx, cancel := context.WithTimeout(context.Background(), pollTimeout)
		rv, err := p.cat.ResourceVersion(ctx)
		cancel()
		p.mu.Lock()
		switch {
		case err != nil:
			// Watches keep their place and read the change log after it once
			// the catalog answers again: an outage delays events, loses none.
			if !p.failing {
				p.log.Warn("watches: reading the catalog's resourceVersion failed; retrying every poll", "err", err)
			}
			p.failing = true
		case rv != p.rv:
			p.rv, p.failing = rv, false
			close(p.moved)
			p.moved = make(chan struct{})
		default:
			p.failing = false
		}
		if p.users == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		select {
		case <-p.stop:
			p.mu.Lock()
			p.running = false
			p.mu.Unlock()
			return
		case <-notice:
		case <-tick.C:
		}
	}
}
