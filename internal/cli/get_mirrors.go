package cli

import (
	"context"
	"strings"

	"github.com/regimport/regimport/catalog"
)

// mirroredColumn is get -o wide's MIRRORED column: where mirror apply last
// copied (or found) the image, as destination repository:tag, or "-".
func mirroredColumn(ctx context.Context, cat catalog.Catalog, image string) (string, error) {
	locs, err := cat.MirrorLocations(ctx, image)
	if err != nil || len(locs) == 0 {
		return "-", err
	}
	out := make([]string, len(locs))
	for i, l := range locs {
		out[i] = l.DestinationRepository + ":" + l.DestTag
	}
	return strings.Join(out, ","), nil
}
