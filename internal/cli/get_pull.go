package cli

import (
	"context"
	"strings"

	"github.com/regimport/regimport/catalog"
)

// pullColumn is `get images -o wide`'s PULL: the image's pull verdict
// (a list's over its platform instances) where every repository agrees,
// "mixed" where they differ, "-" where none has one.
func pullColumn(ctx context.Context, cat catalog.Catalog, image string) (string, error) {
	vs, err := cat.ImagePullVerdicts(ctx, image)
	if err != nil {
		return "", err
	}
	out := ""
	for _, v := range vs {
		switch {
		case v.Verdict == "":
			continue
		case out == "":
			out = string(v.Verdict)
		case out != string(v.Verdict):
			return "mixed", nil
		}
	}
	if out == "" {
		return "-", nil
	}
	return out, nil
}

// withPull puts PULL after wideColumns' SIGNATURE.
func withPull(wide, pull string) string {
	sig, rest, _ := strings.Cut(wide, "\t")
	return sig + "\t" + pull + "\t" + rest
}
