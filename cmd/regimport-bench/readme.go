package main

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// block is one section's figures as Markdown: what README.md shows between
// <!-- bench:NAME --> and <!-- /bench:NAME -->.
type block struct {
	name  string // the section
	title string // its heading, without figures of the run
	flags string // the flags that size it, as given to reproduce it
	body  string // the tables and what they measure
	stamp stamp
}

// stamp says when and where a run was made.
type stamp struct {
	when  time.Time
	args  []string
	host  string
	cpus  int
	load1 string // the one-minute load average when the run began
}

func newStamp(args []string) stamp {
	host, _ := os.Hostname()
	load := "unknown"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			load = f[0]
		}
	}
	return stamp{when: time.Now().UTC(), args: args, host: host, cpus: numCPU(), load1: load}
}

// markdown is the block as it goes into README.md and .bench/*.md: a
// heading, the command that reproduces it and when it ran, then the body.
func (b block) markdown() string {
	var s strings.Builder
	fmt.Fprintf(&s, "### %s\n\n", b.title)
	fmt.Fprintf(&s, "Section `%s` of `make bench`; reproduce it alone with `make bench BENCH='-only %s %s'`. ", b.name, b.name, b.flags)
	fmt.Fprintf(&s, "Measured %s on %s (%d CPUs, load average %s when the run began), by `regimport-bench %s`.\n\n",
		b.stamp.when.Format("2006-01-02T15:04Z"), b.stamp.host, b.stamp.cpus, b.stamp.load1, strings.Join(b.stamp.args, " "))
	s.WriteString(b.body)
	return s.String()
}

func beginMarker(name string) string { return "<!-- bench:" + name + " -->" }
func endMarker(name string) string   { return "<!-- /bench:" + name + " -->" }

// rewriteREADMEFile puts each block into the README file between its
// section's markers, leaving every other block as it was.
func rewriteREADMEFile(path string, blocks []block) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	text := string(b)
	for _, bl := range blocks {
		if text, err = replaceBlock(text, bl.name, bl.markdown()); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return os.WriteFile(path, []byte(text), 0o644)
}

// replaceBlock replaces what is between name's markers in text with
// content. Each marker must be there exactly once, begin before end.
func replaceBlock(text, name, content string) (string, error) {
	begin, end := beginMarker(name), endMarker(name)
	if strings.Count(text, begin) != 1 || strings.Count(text, end) != 1 {
		return "", fmt.Errorf("want exactly one %s and one %s, to put the %s section's figures between", begin, end, name)
	}
	i := strings.Index(text, begin) + len(begin)
	j := strings.Index(text, end)
	if j < i {
		return "", fmt.Errorf("%s comes before %s", end, begin)
	}
	return text[:i] + "\n" + strings.TrimRight(content, "\n") + "\n" + text[j:], nil
}

// markedBlocks splits text into the names of its marker blocks, in order,
// and the text outside them. It fails on a marker without its pair.
func markedBlocks(text string) (names []string, outside string, err error) {
	var rest strings.Builder
	for {
		i := strings.Index(text, "<!-- bench:")
		if k := strings.Index(text, "<!-- /bench:"); k >= 0 && (i < 0 || k < i) {
			return nil, "", fmt.Errorf("an end marker without its begin: %q", firstLine(text[k:]))
		}
		if i < 0 {
			rest.WriteString(text)
			return names, rest.String(), nil
		}
		rest.WriteString(text[:i])
		j := strings.Index(text[i:], " -->")
		if j < 0 {
			return nil, "", fmt.Errorf("an unclosed marker: %q", firstLine(text[i:]))
		}
		name := text[i+len("<!-- bench:") : i+j]
		end := endMarker(name)
		k := strings.Index(text[i:], end)
		if k < 0 {
			return nil, "", fmt.Errorf("%s has no %s", beginMarker(name), end)
		}
		names = append(names, name)
		text = text[i+k+len(end):]
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
