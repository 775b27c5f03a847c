package main

import (
	"strings"
	"testing"
	"time"
)

func contents(images []string, tags map[string]string) catalogContents {
	c := catalogContents{images: map[string]bool{}, tags: tags}
	for _, name := range images {
		c.images[name] = true
	}
	return c
}

// TestSameContents: the shard benchmark's union check passes only when
// both catalogs hold the same images and the same tags on the same images.
func TestSameContents(t *testing.T) {
	want := contents([]string{"sha256:a", "sha256:b"}, map[string]string{"r/x:1": "sha256:a", "r/y:1": "sha256:b"})
	cases := []struct {
		name  string
		got   catalogContents
		error string // "" when the catalogs are the same
	}{
		{"same", contents([]string{"sha256:b", "sha256:a"}, map[string]string{"r/y:1": "sha256:b", "r/x:1": "sha256:a"}), ""},
		{"an image missing", contents([]string{"sha256:a"}, map[string]string{"r/x:1": "sha256:a", "r/y:1": "sha256:b"}), "1 missing (image sha256:b)"},
		{"a tag missing", contents([]string{"sha256:a", "sha256:b"}, map[string]string{"r/x:1": "sha256:a"}), "1 missing (tag r/y:1)"},
		{"an extra image and tag", contents([]string{"sha256:a", "sha256:b", "sha256:c"}, map[string]string{"r/x:1": "sha256:a", "r/y:1": "sha256:b", "r/z:1": "sha256:c"}), "2 extra (image sha256:c; tag r/z:1)"},
		{"a tag on another image", contents([]string{"sha256:a", "sha256:b"}, map[string]string{"r/x:1": "sha256:b", "r/y:1": "sha256:b"}), "1 different (tag r/x:1 points at sha256:b, not sha256:a)"},
	}
	for _, tc := range cases {
		err := sameContents(want, tc.got)
		switch {
		case tc.error == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.error != "" && (err == nil || !strings.Contains(err.Error(), tc.error)):
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.error)
		}
	}
}

// TestParseStat: the server's CPU is read from /proc/PID/stat, whose
// command name may hold spaces and parentheses.
func TestParseStat(t *testing.T) {
	// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ...
	line := "4242 (postgres: a (b) c) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0 12345 0 0\n"
	cpu, ppid, ok := parseStat(line)
	if !ok || ppid != 17 || cpu != 3100*time.Millisecond {
		t.Errorf("parseStat = %v, %d, %v; want 3.1s (310 ticks), 17, true", cpu, ppid, ok)
	}
	if _, _, ok := parseStat("4242 (truncated) S 17"); ok {
		t.Error("a truncated line parsed")
	}
}
