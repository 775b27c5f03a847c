package kubernetes

import (
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The image cannot be built here (no container engine on these machines);
// these tests check what can be checked without one: that the build stage
// builds exactly as the Makefile does, that the final stage holds what the
// binary links and the manifests run, and that the binary links nothing
// the final image lacks.

const containerfilePath = "../Containerfile"

// containerImage is what the tests need of deploy/Containerfile.
type containerImage struct {
	stages     []stage
	entrypoint string // ENTRYPOINT's program
	uid        string // USER of the final stage
}

type stage struct {
	from, name, workdir string
	runs                []string
	copies              [][]string // COPY's words after the instruction
}

// readContainerfile parses the Containerfile's instructions (continuation
// lines joined, comments dropped).
func readContainerfile(t *testing.T) containerImage {
	t.Helper()
	raw, err := os.ReadFile(containerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	var img containerImage
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(string(raw), "\\\n", " "), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	for _, l := range lines {
		instr, rest, _ := strings.Cut(l, " ")
		words := strings.Fields(rest)
		if strings.ToUpper(instr) != "FROM" && len(img.stages) == 0 {
			t.Fatalf("%s: %q before the first FROM", containerfilePath, l)
		}
		var cur *stage
		if len(img.stages) > 0 {
			cur = &img.stages[len(img.stages)-1]
		}
		switch strings.ToUpper(instr) {
		case "FROM":
			s := stage{from: words[0]}
			if len(words) == 3 && strings.EqualFold(words[1], "AS") {
				s.name = words[2]
			}
			img.stages = append(img.stages, s)
		case "WORKDIR":
			cur.workdir = rest
		case "RUN":
			cur.runs = append(cur.runs, rest)
		case "COPY":
			cur.copies = append(cur.copies, words)
		case "USER":
			img.uid, _, _ = strings.Cut(rest, ":")
		case "ENTRYPOINT":
			var ep []string
			if err := json.Unmarshal([]byte(rest), &ep); err != nil || len(ep) == 0 {
				t.Fatalf("%s: ENTRYPOINT %s: want the exec form [\"/path\"] (%v)", containerfilePath, rest, err)
			}
			img.entrypoint = ep[0]
		}
	}
	if len(img.stages) != 2 {
		t.Fatalf("%s: %d stages, want a build stage and a final one", containerfilePath, len(img.stages))
	}
	return img
}

// makeVars are the Makefile's simple assignments (NAME := value).
func makeVars(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^(?:export )?([A-Z_]+)\s*[:?]?=\s*(.*)$`).FindAllStringSubmatch(string(raw), -1) {
		vars[m[1]] = strings.TrimSpace(m[2])
	}
	return vars
}

// debianRelease maps image tag words to Debian releases.
var debianRelease = map[string]string{"bookworm": "12", "debian12": "12", "trixie": "13", "debian13": "13"}

// releaseOf is the Debian release an image reference names, or "".
func releaseOf(image string) string {
	for _, w := range regexp.MustCompile(`[^a-z0-9]+`).Split(image, -1) {
		if r, ok := debianRelease[w]; ok {
			return r
		}
	}
	return ""
}

// TestContainerfileBuildsAsTheMakefileDoes: the build stage runs `make
// build` with the Go release go.mod asks for, the Makefile still builds
// with cgo and the openpgp tag, and the final stage copies the Makefile's
// output to the entrypoint the manifests run, as a non-root user, on the
// Debian release the binary was linked against.
func TestContainerfileBuildsAsTheMakefileDoes(t *testing.T) {
	img := readContainerfile(t)
	build, final := img.stages[0], img.stages[1]

	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if goVersion == nil {
		t.Fatal("go.mod has no go line")
	}
	if want := "docker.io/library/golang:" + string(goVersion[1]) + "-"; !strings.HasPrefix(build.from, want) {
		t.Errorf("build stage FROM %s, want %s<debian release> (go.mod says go %s)", build.from, want, goVersion[1])
	}
	if !slices.Contains(build.runs, "make build") {
		t.Errorf("build stage runs %q, want `make build`, the command developers and CI build with", build.runs)
	}
	vars := makeVars(t)
	if !slices.Contains(strings.Fields(vars["TAGS"]), "containers_image_openpgp") || vars["CGO_ENABLED"] != "1" {
		t.Errorf("Makefile TAGS %q, CGO_ENABLED %q: the image needs containers_image_openpgp and cgo (go-sqlite3)", vars["TAGS"], vars["CGO_ENABLED"])
	}
	bin := path.Join(build.workdir, vars["BIN"])
	want := []string{"--from=" + build.name, bin, img.entrypoint}
	if !slices.ContainsFunc(final.copies, func(c []string) bool { return slices.Equal(c, want) }) {
		t.Errorf("final stage copies %v, want COPY %s", final.copies, strings.Join(want, " "))
	}
	if img.uid == "" || img.uid == "0" || strings.Trim(img.uid, "0123456789") != "" {
		t.Errorf("USER %q: want a numeric non-root user (runAsNonRoot can only check a number)", img.uid)
	}
	if !strings.Contains(final.from, "distroless/base") && !strings.Contains(final.from, "debian:") {
		t.Errorf("final stage FROM %s: the binary links glibc (cgo); want distroless/base or Debian", final.from)
	}
	if b, f := releaseOf(build.from), releaseOf(final.from); b == "" || b != f {
		t.Errorf("build stage on Debian %q, final on %q: glibc must be the one the binary was linked against", b, f)
	}
}

// glibcLibraries are what distroless/base (and any Debian) provides of the
// C library; a binary needing more would not start in the final image.
var glibcLibraries = []string{"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "libresolv.so.2", "librt.so.1", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"}

// TestBinaryNeedsOnlyGlibc builds regimport with `make build`, as the
// Containerfile's build stage does (only the output moved to a temporary
// directory), and reads the shared libraries the binary needs.
func TestBinaryNeedsOnlyGlibc(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make is not installed; the Containerfile's build stage runs it")
	}
	bin := filepath.Join(t.TempDir(), "regimport")
	cmd := exec.Command("make", "--no-print-directory", "-C", "../..", "build", "BIN="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(libs, "libc.so.6") {
		t.Errorf("the binary needs %v: no libc.so.6, so cgo was off and go-sqlite3 left out", libs)
	}
	for _, l := range libs {
		if !slices.Contains(glibcLibraries, l) {
			t.Errorf("the binary needs %s, which the final image (glibc only) does not have", l)
		}
	}
}
