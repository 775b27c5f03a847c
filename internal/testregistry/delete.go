package testregistry

import (
	"context"
	"fmt"
	"net/http"
)

// DeleteTag removes a tag from a repository the way an operator would
// (DELETE /v2/<repo>/manifests/<tag>); the manifest stays, reachable by digest.
func (r *Registry) DeleteTag(ctx context.Context, repo, tag string) error {
	status, _, msg, err := r.do(ctx, http.MethodDelete, r.URL()+"/v2/"+repo+"/manifests/"+tag, "", nil)
	if err != nil {
		return fmt.Errorf("delete tag %s:%s: %w", repo, tag, err)
	}
	if status != http.StatusAccepted {
		return fmt.Errorf("delete tag %s:%s: status %d: %s", repo, tag, status, msg)
	}
	return nil
}
