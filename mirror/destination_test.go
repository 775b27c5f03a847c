package mirror

import (
	"strings"
	"testing"
)

func TestParseDestination(t *testing.T) {
	for _, tc := range []struct {
		dest, source, want, err string
	}{
		{dest: "mirror.example.com", source: "quay.io/team/app", want: "mirror.example.com/team/app"},
		{dest: "mirror.example.com:5000/prod/", source: "docker.io/library/nginx", want: "mirror.example.com:5000/prod/library/nginx"},
		{dest: "docker://localhost/x", source: "ghcr.io/o/r", want: "localhost/x/o/r"},
		{dest: "", err: "empty"},
		{dest: "mirror", err: "want a registry host"},      // no dot, port or localhost: a Docker Hub path
		{dest: "Mirror.example.com/UP", err: "lower-case"}, // upper-case path
	} {
		d, err := ParseDestination(tc.dest)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseDestination(%q) = %v, want an error with %q", tc.dest, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("ParseDestination(%q): %v", tc.dest, err)
		}
		if got, ok := d.Repository(tc.source); !ok || got != tc.want {
			t.Errorf("%q: %s -> %q, %v; want %q", tc.dest, tc.source, got, ok, tc.want)
		}
	}
}

func TestReadMapping(t *testing.T) {
	d, err := ReadMapping("m.txt", strings.NewReader(`
# namespaces map wholesale; the longest source wins
quay.io/team/=mirror.example.com/teams/quay
quay.io/team/special=mirror.example.com/vip/special   # one repository
`))
	if err != nil {
		t.Fatal(err)
	}
	for source, want := range map[string]string{
		"quay.io/team/app":      "mirror.example.com/teams/quay/app",
		"quay.io/team/a/b":      "mirror.example.com/teams/quay/a/b",
		"quay.io/team/special":  "mirror.example.com/vip/special",
		"quay.io/other/app":     "",
		"quay.io/teamwork/tool": "",
	} {
		got, ok := d.Repository(source)
		if got != want || ok != (want != "") {
			t.Errorf("%s -> %q, %v; want %q", source, got, ok, want)
		}
	}
	for _, bad := range []string{"", "# only a comment\n", "quay.io/x\n", "quay.io/x=Bad Host/y\n"} {
		if _, err := ReadMapping("bad.txt", strings.NewReader(bad)); err == nil {
			t.Errorf("mapping %q was accepted", bad)
		}
	}
}
