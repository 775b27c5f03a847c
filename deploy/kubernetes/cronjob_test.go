package kubernetes

import (
	"slices"
	"strconv"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/regimport/regimport/internal/cli"
)

// TestCronJobRunsIndexedShards: the Job is Indexed, runs every shard at
// once, and tells regimport as many shards as it runs; the index comes from
// JOB_COMPLETION_INDEX (never a fixed --shard), the run group from the
// Job's name, and runs never overlap.
func TestCronJobRunsIndexedShards(t *testing.T) {
	m := mustLoad(t)
	cj := m.cronJob
	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("concurrencyPolicy %q, want Forbid", cj.Spec.ConcurrencyPolicy)
	}
	job := cj.Spec.JobTemplate.Spec
	if job.CompletionMode == nil || *job.CompletionMode != batchv1.IndexedCompletion {
		t.Fatalf("completionMode %v, want Indexed: JOB_COMPLETION_INDEX is set only then", job.CompletionMode)
	}
	c := regimportContainer(t, &job.Template.Spec)
	if len(c.Args) == 0 || c.Args[0] != "import" {
		t.Fatalf("args %v, want regimport import", c.Args)
	}
	shards, err := strconv.Atoi(flagValue(c.Args, "--shards"))
	if err != nil || shards < 2 {
		t.Fatalf("--shards %q: want a number of shards above 1 (%v)", flagValue(c.Args, "--shards"), err)
	}
	if job.Completions == nil || int(*job.Completions) != shards || job.Parallelism == nil || int(*job.Parallelism) != shards {
		t.Errorf("completions %v and parallelism %v must both equal --shards %d", deref(job.Completions), deref(job.Parallelism), shards)
	}
	if v := flagValue(c.Args, "--shard"); v != "" {
		t.Errorf("--shard %q fixes the index; every pod must take its own from JOB_COMPLETION_INDEX", v)
	}
	if got := flagValue(c.Args, "--run-group"); got != "$(REGIMPORT_RUN_GROUP)" {
		t.Errorf("--run-group %q, want $(REGIMPORT_RUN_GROUP)", got)
	}
	group := envVar(c, "REGIMPORT_RUN_GROUP")
	if group == nil || group.ValueFrom == nil || group.ValueFrom.FieldRef == nil ||
		group.ValueFrom.FieldRef.FieldPath != "metadata.labels['"+batchv1.JobNameLabel+"']" {
		t.Errorf("REGIMPORT_RUN_GROUP %+v: want the downward API's metadata.labels['%s'], shared by the shards of one Job", group, batchv1.JobNameLabel)
	}
	if envVar(c, "JOB_COMPLETION_INDEX") != nil {
		t.Error("JOB_COMPLETION_INDEX is set by Kubernetes; defining it would give every shard the same index")
	}
	if job.ActiveDeadlineSeconds == nil {
		t.Error("activeDeadlineSeconds unset: a hung run would hold the schedule (concurrencyPolicy Forbid) forever")
	}
}

// TestCronJobExitCodes: the pod failure policy, evaluated as the Job
// controller evaluates it (first matching rule), does with each of
// regimport's exit codes what the manifest's comments say.
func TestCronJobExitCodes(t *testing.T) {
	m := mustLoad(t)
	job := m.cronJob.Spec.JobTemplate.Spec
	if job.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %q: a podFailurePolicy needs Never", job.Template.Spec.RestartPolicy)
	}
	if job.BackoffLimitPerIndex == nil || *job.BackoffLimitPerIndex < 1 {
		t.Errorf("backoffLimitPerIndex %v: want a shard retried on its own after a fatal error", deref(job.BackoffLimitPerIndex))
	}
	policy := job.PodFailurePolicy
	if policy == nil {
		t.Fatal("no podFailurePolicy")
	}
	for _, r := range policy.Rules {
		if oe := r.OnExitCodes; oe != nil {
			// The API server's rules for these values.
			if !slices.IsSorted(oe.Values) || len(slices.Compact(slices.Clone(oe.Values))) != len(oe.Values) {
				t.Errorf("exit codes %v must be sorted and unique", oe.Values)
			}
			if oe.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && slices.Contains(oe.Values, 0) {
				t.Errorf("exit codes %v: 0 is not allowed with In", oe.Values)
			}
		}
		if r.Action == batchv1.PodFailurePolicyActionFailIndex && job.BackoffLimitPerIndex == nil {
			t.Error("FailIndex needs backoffLimitPerIndex")
		}
	}
	const retried = batchv1.PodFailurePolicyAction("retried (counts against backoffLimitPerIndex)")
	for code, want := range map[int32]batchv1.PodFailurePolicyAction{
		cli.ExitFatal:       retried,
		cli.ExitUsage:       batchv1.PodFailurePolicyActionFailJob,
		cli.ExitPartial:     batchv1.PodFailurePolicyActionFailIndex,
		cli.ExitRejected:    batchv1.PodFailurePolicyActionFailIndex,
		cli.ExitLocked:      batchv1.PodFailurePolicyActionFailIndex,
		cli.ExitInterrupted: retried,
	} {
		got, ok := failureAction(policy, "regimport", code, nil)
		if !ok {
			got = retried
		}
		if got != want {
			t.Errorf("exit %d: %s, want %s", code, got, want)
		}
	}
	disrupted := []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}
	if got, ok := failureAction(policy, "regimport", cli.ExitInterrupted, disrupted); !ok || got != batchv1.PodFailurePolicyActionIgnore {
		t.Errorf("a pod evicted or preempted (DisruptionTarget): %q, want Ignore", got)
	}
}

// failureAction is the action of the first rule matching a failed pod whose
// container exited with code and whose conditions are conds.
func failureAction(p *batchv1.PodFailurePolicy, container string, code int32, conds []corev1.PodCondition) (batchv1.PodFailurePolicyAction, bool) {
	for _, r := range p.Rules {
		if oe := r.OnExitCodes; oe != nil {
			if oe.ContainerName != nil && *oe.ContainerName != container {
				continue
			}
			in := slices.Contains(oe.Values, code)
			if in == (oe.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn) {
				return r.Action, true
			}
		}
		for _, pat := range r.OnPodConditions {
			for _, c := range conds {
				if c.Type == pat.Type && (pat.Status == "" && c.Status == corev1.ConditionTrue || c.Status == pat.Status) {
					return r.Action, true
				}
			}
		}
	}
	return "", false
}

func envVar(c *corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
