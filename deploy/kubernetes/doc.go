// Package kubernetes holds regimport's Kubernetes manifests (the *.yaml
// files in this directory: the sharded import CronJob, the serve Deployment
// and Service, the ConfigMap and the Secret) and, in its tests, the checks
// that they decode strictly as the Kubernetes API types, that their
// invariants hold (shards, mounts, probes, exit codes) and that every flag
// they pass is one the real regimport command accepts. It has no code of
// its own: go test is how the manifests are kept honest.
package kubernetes
