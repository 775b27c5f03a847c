package cli

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

// envConfigRoot is the default of --config-root, for containers and jobs
// that set their configuration through the environment.
const envConfigRoot = "REGIMPORT_CONFIG_ROOT"

// configRootUsage explains --config-root.
const configRootUsage = "directory the machine-wide configuration is read under instead of /: " +
	"DIR/etc/containers/{policy.json,registries.d,registries.conf,registries.conf.d,certs.d}, DIR/etc/docker/certs.d " +
	"and DIR/usr/share/containers (default $" + envConfigRoot + "); paths given by flags are used as given"

func registerConfigRoot(fs *flag.FlagSet, dst *string) {
	fs.StringVar(dst, "config-root", "", configRootUsage)
}

// resolveConfigRoot returns --config-root, else $REGIMPORT_CONFIG_ROOT, else
// "" (the machine's own /). The directory must exist: a typo would
// otherwise read no configuration at all, silently.
func resolveConfigRoot(given string, s Streams) (string, error) {
	root, flagName := given, "--config-root"
	if root == "" {
		root, flagName = s.getenv(envConfigRoot), "$"+envConfigRoot
	}
	if root == "" {
		return "", nil
	}
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return "", fmt.Errorf("%s %s: no such directory", flagName, root)
	}
	return filepath.Abs(root)
}

// underRoot is path, an absolute default, read under root.
func underRoot(root, path string) string {
	if root == "" {
		return path
	}
	return filepath.Join(root, path)
}
