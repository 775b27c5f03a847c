package main

import (
	"fmt"
	"os"
	"regexp"
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

// markerLine matches a marker: a line of its own, <!-- bench:NAME --> or
// <!-- /bench:NAME -->. A marker quoted in prose is not one.
var markerLine = regexp.MustCompile(`(?m)^<!-- (/?)bench:([a-z]+) -->$`)

// replaceBlock replaces what is between name's markers in text with
// content. Each marker must be there exactly once, begin before end.
func replaceBlock(text, name, content string) (string, error) {
	begin, end := -1, -1
	for _, m := range markerLine.FindAllStringSubmatchIndex(text, -1) {
		if text[m[4]:m[5]] != name {
			continue
		}
		at := &begin
		if m[3] > m[2] {
			at = &end
		}
		if *at >= 0 {
			return "", fmt.Errorf("the %s section has more than one %s line", name, text[m[0]:m[1]])
		}
		if at == &begin {
			*at = m[1]
		} else {
			*at = m[0]
		}
	}
	if begin < 0 || end < 0 {
		return "", fmt.Errorf("want a line %s and a line %s, to put the %s section's figures between", beginMarker(name), endMarker(name), name)
	}
	if end < begin {
		return "", fmt.Errorf("%s comes before %s", endMarker(name), beginMarker(name))
	}
	return text[:begin] + "\n" + strings.TrimRight(content, "\n") + "\n" + text[end:], nil
}

// markedBlocks splits text into the names of its marker blocks, in order,
// and the text outside them. It fails on a marker without its pair and on
// blocks inside blocks.
func markedBlocks(text string) (names []string, outside string, err error) {
	var rest strings.Builder
	open := ""
	last := 0
	for _, m := range markerLine.FindAllStringSubmatchIndex(text, -1) {
		name, isEnd := text[m[4]:m[5]], m[3] > m[2]
		switch {
		case !isEnd && open == "":
			rest.WriteString(text[last:m[0]])
			open = name
		case isEnd && open == name:
			open = ""
			last = m[1]
		case isEnd:
			return nil, "", fmt.Errorf("%s without its begin", endMarker(name))
		default:
			return nil, "", fmt.Errorf("%s inside the %s block", beginMarker(name), open)
		}
		if isEnd {
			names = append(names, name)
		}
	}
	if open != "" {
		return nil, "", fmt.Errorf("%s has no %s", beginMarker(open), endMarker(open))
	}
	rest.WriteString(text[last:])
	return names, rest.String(), nil
}
