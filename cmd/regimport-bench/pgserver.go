package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", to create databases and count rows
	"github.com/regimport/regimport/internal/redact"
)

// pgServer is the PostgreSQL server the postgres and shards sections import
// into: a throwaway cluster the benchmark starts with scripts/pg-cluster
// (and stops at the end), or one given with -pg / REGIMPORT_BENCH_POSTGRES.
// Every round gets a database of its own, created here and dropped at
// the end.
type pgServer struct {
	admin      string // URL of the server's maintenance database
	clusterDir string // the cluster pg-cluster started; "" for a given server
	script     string
	created    []string
}

// startPG starts a cluster with the pg-cluster script, or uses the server
// given, and says which in out.
func startPG(ctx context.Context, c config, out io.Writer) (*pgServer, error) {
	if c.pgURL != "" {
		fmt.Fprintf(out, "PostgreSQL: the server given (%s); its CPU is not measured\n", redactURL(c.pgURL))
		return &pgServer{admin: c.pgURL}, nil
	}
	dir, err := os.MkdirTemp("", "regimport-bench-pg-")
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, c.pgCluster, "start", dir)
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start a PostgreSQL cluster with %s (or give one with -pg URL): %w\n%s", c.pgCluster, err, stderr.String())
	}
	s := &pgServer{admin: strings.TrimSpace(string(b)), clusterDir: dir, script: c.pgCluster}
	fmt.Fprintf(out, "PostgreSQL: a throwaway cluster at %s (scripts/pg-cluster, fsync off as in make test)\n", s.admin)
	return s, nil
}

// close drops the databases the benchmark created and stops the cluster
// it started.
func (s *pgServer) close() {
	if db, err := sql.Open("pgx", s.admin); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		for _, name := range s.created {
			db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
		}
		cancel()
		db.Close()
	}
	if s.clusterDir != "" {
		exec.Command(s.script, "stop", s.clusterDir).Run()
		os.RemoveAll(s.clusterDir)
	}
}

// newDatabase creates an empty database and returns its URL.
func (s *pgServer) newDatabase(ctx context.Context, name string) (string, error) {
	db, err := sql.Open("pgx", s.admin)
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
		return "", fmt.Errorf("drop database %s: %w", name, err)
	}
	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	s.created = append(s.created, name)
	u, err := url.Parse(s.admin)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// cpu is the CPU time the server's processes have used so far: the
// postmaster's own and its reaped children's (utime, stime, cutime,
// cstime), plus every live child's. The difference across an import is the
// server's CPU for it (background workers included), since every backend
// is the postmaster's child and is reaped by it. children are the live
// children's pids. ok is false for a server the benchmark did not start.
func (s *pgServer) cpu() (total time.Duration, children map[int]bool, ok bool) {
	if s.clusterDir == "" {
		return 0, nil, false
	}
	b, err := os.ReadFile(filepath.Join(s.clusterDir, "data", "postmaster.pid"))
	if err != nil {
		return 0, nil, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		return 0, nil, false
	}
	children = map[int]bool{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil || child == pid {
			continue
		}
		if t, ppid, ok := procCPU(child); ok && ppid == pid {
			total += t
			children[child] = true
		}
	}
	own, _, ok := procCPU(pid)
	return total + own, children, ok
}

// cpuAfter is cpu once the backends that served an import have exited
// and been reaped (their CPU then moves into the postmaster's cutime and
// cstime), waiting at most two seconds: a backend read while it exits
// would count too little or twice. before are the children cpu saw before
// the import.
func (s *pgServer) cpuAfter(before map[int]bool) (time.Duration, bool) {
	deadline := time.Now().Add(2 * time.Second)
	for {
		total, children, ok := s.cpu()
		settled := true
		for pid := range children {
			if !before[pid] {
				settled = false
			}
		}
		if !ok || settled || time.Now().After(deadline) {
			return total, ok
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go runs on.
const clockTicks = 100

// procCPU reads a process's utime+stime+cutime+cstime and parent from
// /proc/PID/stat.
func procCPU(pid int) (cpu time.Duration, ppid int, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	return parseStat(string(b))
}

// parseStat parses a /proc/PID/stat line. The command name, field 2, is in
// parentheses and may hold spaces and parentheses, so the fields are
// counted from its last ")": state is field 3, ppid 4, utime..cstime 14-17.
func parseStat(line string) (cpu time.Duration, ppid int, ok bool) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(line[i+1:])
	if len(f) < 15 {
		return 0, 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, 0, false
	}
	var ticks int64
	for _, s := range f[11:15] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, ppid, true
}

// redactURL hides the credentials of a server URL.
func redactURL(s string) string { return redact.URL(s) }
