package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	dockerconfig "github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/google/go-containerregistry/pkg/authn"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/pkg/docker/config"
	"go.podman.io/image/v5/types"
)

// credentials are what a registry accepts from us.
type credentials struct {
	Username, Password string
	// IdentityToken is an OAuth2 refresh token (auth.json/config.json
	// identitytoken, Azure ACR): it is exchanged at the token realm by POST.
	IdentityToken string
	// RegistryToken is sent to the registry as the bearer token itself.
	RegistryToken string
}

func (c credentials) empty() bool { return c == credentials{} }

// credentialStore resolves credentials: containers/image's lookup first
// (auth.json, registries.conf credential helpers, Docker's config.json
// auths and credHelpers), then Docker's config.json through
// go-containerregistry's authn keychain, which also reads credsStore and
// registry tokens. Each answer is kept for the run: containers/image's per
// repository (auth.json may hold per-namespace entries), the keychain's per
// registry, so a credential helper starts once per registry per run.
type credentialStore struct {
	sys      *types.SystemContext
	keychain authn.Keychain
	log      *slog.Logger

	mu     sync.Mutex
	byRepo map[string]*onceCreds
	byHost map[string]*onceCreds
}

type onceCreds struct {
	once  sync.Once
	creds credentials
}

func newCredentialStore(sys *types.SystemContext, dockerConfig string, log *slog.Logger) *credentialStore {
	s := &credentialStore{sys: sys, log: log, byRepo: map[string]*onceCreds{}, byHost: map[string]*onceCreds{}}
	s.keychain = authn.DefaultKeychain
	if dockerConfig != "" {
		s.keychain = &fileKeychain{path: dockerConfig}
	}
	return s
}

func (s *credentialStore) entry(m map[string]*onceCreds, key string) *onceCreds {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := m[key]
	if !ok {
		e = &onceCreds{}
		m[key] = e
	}
	return e
}

// forRepository returns the credentials for a repository named as the user wrote it.
func (s *credentialStore) forRepository(ctx context.Context, named reference.Named) credentials {
	e := s.entry(s.byRepo, named.Name())
	e.once.Do(func() {
		if ac, err := config.GetCredentialsForRef(s.sys, named); err != nil {
			s.log.Warn("cannot read credentials", "repository", named.Name(), "error", err)
		} else if ac != (types.DockerAuthConfig{}) {
			e.creds = credentials{Username: ac.Username, Password: ac.Password, IdentityToken: ac.IdentityToken}
			return
		}
		e.creds = s.forRegistry(ctx, reference.Domain(named))
	})
	return e.creds
}

// forRegistry returns the host-wide credentials of a registry.
func (s *credentialStore) forRegistry(ctx context.Context, registry string) credentials {
	e := s.entry(s.byHost, CanonicalHost(registry))
	e.once.Do(func() {
		// containers/image first: auth.json and registries.conf helpers.
		if ac, err := config.GetCredentials(s.sys, registry); err != nil {
			s.log.Warn("cannot read credentials", "registry", registry, "error", err)
		} else if ac != (types.DockerAuthConfig{}) {
			e.creds = credentials{Username: ac.Username, Password: ac.Password, IdentityToken: ac.IdentityToken}
			return
		}
		auth, err := authn.Resolve(ctx, s.keychain, keychainResource(registry))
		if err != nil {
			s.log.Warn("cannot read credentials from Docker's config", "registry", registry, "error", err)
			return
		}
		ac, err := authn.Authorization(ctx, auth)
		if err != nil {
			s.log.Warn("cannot read credentials from Docker's config", "registry", registry, "error", err)
			return
		}
		e.creds = credentials{Username: ac.Username, Password: ac.Password, IdentityToken: ac.IdentityToken, RegistryToken: ac.RegistryToken}
	})
	return e.creds
}

// keychainResource names a registry the way Docker's config.json keys it
// (go-containerregistry maps index.docker.io to https://index.docker.io/v1/).
type keychainResource string

func (r keychainResource) String() string { return r.RegistryStr() }
func (r keychainResource) RegistryStr() string {
	if CanonicalHost(string(r)) == "docker.io" {
		return "index.docker.io"
	}
	return string(r)
}

// fileKeychain is an authn.Keychain over one Docker config.json (--authfile),
// read with Docker's own config loader, so credsStore and credHelpers run
// the docker-credential-NAME helpers as Docker does.
type fileKeychain struct {
	path string
	once sync.Once
	cf   *configfile.ConfigFile
	err  error
}

func (k *fileKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	k.once.Do(func() {
		f, err := os.Open(k.path)
		if errors.Is(err, os.ErrNotExist) {
			k.cf = configfile.New(k.path) // no file: no credentials, as for Docker
			return
		}
		if err != nil {
			k.err = err
			return
		}
		defer f.Close()
		k.cf, k.err = dockerconfig.LoadFromReader(f)
		if k.err != nil {
			k.err = fmt.Errorf("%s: %w", k.path, k.err)
		}
	})
	if k.err != nil {
		return nil, k.err
	}
	key := target.RegistryStr()
	if key == "index.docker.io" {
		key = authn.DefaultAuthKey
	}
	ac, err := k.cf.GetAuthConfig(key)
	if err != nil {
		return nil, fmt.Errorf("credentials for %s from %s: %w", target.RegistryStr(), k.path, err)
	}
	cfg := authn.AuthConfig{Username: ac.Username, Password: ac.Password, Auth: ac.Auth, IdentityToken: ac.IdentityToken, RegistryToken: ac.RegistryToken}
	if cfg == (authn.AuthConfig{}) {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(cfg), nil
}
