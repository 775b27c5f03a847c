package mirror

import (
	"os"
	"testing"

	"github.com/regimport/regimport/internal/hermetic"
)

// TestMain gives the tests a HOME, containers policy, registries.d,
// registries.conf, auth files and Docker config of their own
// (internal/hermetic), so nothing on the host changes what they see.
func TestMain(m *testing.M) { os.Exit(hermetic.Run(m)) }
