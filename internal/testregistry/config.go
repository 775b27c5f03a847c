package testregistry

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	digest "github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// dockerImage is an image config as the Docker daemon writes it (keys in
// its order); importers read fields OCI does not have, such as
// container_config and docker_version.
type dockerImage struct {
	Architecture    string              `json:"architecture"`
	Author          string              `json:"author,omitempty"`
	Config          dockerRunConfig     `json:"config"`
	Container       string              `json:"container,omitempty"`
	ContainerConfig dockerRunConfig     `json:"container_config"`
	Created         time.Time           `json:"created"`
	DockerVersion   string              `json:"docker_version"`
	History         []imgspecv1.History `json:"history"`
	OS              string              `json:"os"`
	RootFS          imgspecv1.RootFS    `json:"rootfs"`
	Variant         string              `json:"variant,omitempty"`
}

// dockerRunConfig is Docker's container.Config, which it writes in full
// (empty fields included) for both config and container_config.
type dockerRunConfig struct {
	Hostname     string              `json:"Hostname"`
	Domainname   string              `json:"Domainname"`
	User         string              `json:"User"`
	AttachStdin  bool                `json:"AttachStdin"`
	AttachStdout bool                `json:"AttachStdout"`
	AttachStderr bool                `json:"AttachStderr"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	Tty          bool                `json:"Tty"`
	OpenStdin    bool                `json:"OpenStdin"`
	StdinOnce    bool                `json:"StdinOnce"`
	Env          []string            `json:"Env"`
	Cmd          []string            `json:"Cmd"`
	Image        string              `json:"Image"`
	Volumes      map[string]struct{} `json:"Volumes"`
	WorkingDir   string              `json:"WorkingDir"`
	Entrypoint   []string            `json:"Entrypoint"`
	OnBuild      []string            `json:"OnBuild"`
	Labels       map[string]string   `json:"Labels"`
}

// runSettings are what a Dockerfile would set; they vary with the seed so
// that images differ in more than their digests.
type runSettings struct {
	user, workdir string
	port          int
	env           []string
	entrypoint    []string
	cmd           []string
	volumes       []string
	labels        map[string]string
}

func settingsFor(spec ImageSpec) runSettings {
	port := 8000 + int(uint64(spec.Seed)%1000)
	return runSettings{
		user:    "1001",
		workdir: "/srv",
		port:    port,
		env: []string{
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			fmt.Sprintf("APP_VERSION=1.%d.0", uint64(spec.Seed)%100),
		},
		entrypoint: []string{"/usr/local/bin/entrypoint.sh"},
		cmd:        []string{"serve", fmt.Sprintf("--port=%d", port)},
		volumes:    []string{"/data"},
		labels:     spec.Labels,
	}
}

func set(keys ...string) map[string]struct{} {
	m := make(map[string]struct{}, len(keys))
	for _, k := range keys {
		m[k] = struct{}{}
	}
	return m
}

// history is the build history: one entry per layer, then the metadata-only
// steps (empty_layer), in Docker's or BuildKit's wording; its non-empty
// entries match rootfs.diff_ids one to one, as consumers expect.
func history(s runSettings, layers []layer, created time.Time, buildkit bool) []imgspecv1.History {
	var steps []imgspecv1.History
	add := func(docker, bk string, empty bool) {
		h := imgspecv1.History{CreatedBy: docker, EmptyLayer: empty}
		if buildkit && bk != "" {
			h.CreatedBy, h.Comment = bk, "buildkit.dockerfile.v0"
		}
		steps = append(steps, h)
	}
	meta := func(instr string) { add("/bin/sh -c #(nop)  "+instr, instr, true) }
	for i, l := range layers {
		switch {
		case i == 0: // the base image's layer, built elsewhere, so never BuildKit's wording
			add(fmt.Sprintf("/bin/sh -c #(nop) ADD file:%s in / ", l.diffID.Encoded()), "", false)
		case i%2 == 1:
			run := fmt.Sprintf("/bin/sh -c set -eux; install-step-%d", i)
			add(run, "RUN "+run+" # buildkit", false)
		default:
			add(fmt.Sprintf("/bin/sh -c #(nop) COPY dir:%s in /srv/ ", l.diffID.Encoded()),
				fmt.Sprintf("COPY app/part-%d /srv/ # buildkit", i), false)
		}
	}
	meta("ENV " + strings.Join(s.env, " "))
	if len(s.labels) > 0 {
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(s.labels)) {
			kv = append(kv, fmt.Sprintf("%s=%q", k, s.labels[k]))
		}
		meta("LABEL " + strings.Join(kv, " "))
	}
	meta(fmt.Sprintf("EXPOSE %d/tcp", s.port))
	meta("VOLUME [" + strings.Join(s.volumes, " ") + "]")
	meta("WORKDIR " + s.workdir)
	meta("USER " + s.user)
	meta("ENTRYPOINT " + execForm(s.entrypoint))
	meta("CMD " + execForm(s.cmd))
	// Steps are a minute apart and the last one is the image's created time.
	for i := range steps {
		t := created.Add(-time.Duration(len(steps)-1-i) * time.Minute)
		steps[i].Created = &t
	}
	return steps
}

// fakeID is a deterministic 64-hex identifier such as Docker gives
// containers and v1 images, derived from what makes it unique.
func fakeID(parts ...any) string {
	return digest.FromString(fmt.Sprint(parts...)).Encoded()
}

// execForm is a Dockerfile's JSON array form of a command.
func execForm(args []string) string {
	b, _ := json.Marshal(args) // a []string always marshals
	return string(b)
}

func rootFS(layers []layer) imgspecv1.RootFS {
	ids := make([]digest.Digest, len(layers))
	for i, l := range layers {
		ids[i] = l.diffID
	}
	return imgspecv1.RootFS{Type: "layers", DiffIDs: ids}
}

// makeConfig writes the image config of one single-platform image.
func makeConfig(spec ImageSpec, p Platform, layers []layer, docker bool) ([]byte, error) {
	s := settingsFor(spec)
	created := spec.created()
	const author = "regimport tests <tests@regimport.invalid>"
	if !docker {
		img := imgspecv1.Image{
			Created:  &created,
			Author:   author,
			Platform: imgspecv1.Platform{Architecture: p.Architecture, OS: p.OS, Variant: p.Variant},
			Config: imgspecv1.ImageConfig{
				User: s.user, ExposedPorts: set(fmt.Sprintf("%d/tcp", s.port)), Env: s.env,
				Entrypoint: s.entrypoint, Cmd: s.cmd, Volumes: set(s.volumes...), WorkingDir: s.workdir,
				Labels: s.labels, StopSignal: "SIGTERM",
			},
			RootFS:  rootFS(layers),
			History: history(s, layers, created, true),
		}
		b, err := json.Marshal(img)
		if err != nil {
			return nil, fmt.Errorf("marshal OCI config: %w", err)
		}
		return b, nil
	}
	hist := history(s, layers, created, false)
	container := fakeID("container", spec.Repository, spec.Seed, p)
	img := dockerImage{
		Architecture: p.Architecture, OS: p.OS, Variant: p.Variant,
		Author: author, Created: created, DockerVersion: "24.0.7", Container: container,
		Config: dockerRunConfig{
			User: s.user, ExposedPorts: set(fmt.Sprintf("%d/tcp", s.port)), Env: s.env, Cmd: s.cmd,
			Volumes: set(s.volumes...), WorkingDir: s.workdir, Entrypoint: s.entrypoint, Labels: s.labels,
			Image: "sha256:" + fakeID("parent", spec.Repository, spec.Seed, p),
		},
		// container_config is the container that ran the last build step.
		ContainerConfig: dockerRunConfig{
			Hostname: container[:12], User: s.user, ExposedPorts: set(fmt.Sprintf("%d/tcp", s.port)), Env: s.env,
			Cmd:     []string{"/bin/sh", "-c", "#(nop) ", strings.TrimPrefix(hist[len(hist)-1].CreatedBy, "/bin/sh -c #(nop)  ")},
			Volumes: set(s.volumes...), WorkingDir: s.workdir, Entrypoint: s.entrypoint, Labels: s.labels,
			Image: "sha256:" + fakeID("parent", spec.Repository, spec.Seed, p),
		},
		RootFS:  rootFS(layers),
		History: hist,
	}
	b, err := json.Marshal(img)
	if err != nil {
		return nil, fmt.Errorf("marshal Docker config: %w", err)
	}
	return b, nil
}
