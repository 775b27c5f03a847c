package catalog

import "testing"

func TestPullVerdictOf(t *testing.T) {
	pack := func(items ...string) string {
		out := ""
		for i := 0; i < len(items); i += 2 {
			if out != "" {
				out += PackedRecordSep
			}
			out += items[i] + PackedUnitSep + items[i+1]
		}
		return out
	}
	for _, c := range []struct {
		name      string
		own       Verdict
		instances string
		want      Verdict
		reason    string
	}{
		{"single accepted", VerdictAccepted, "", VerdictAccepted, ""},
		{"single rejected", VerdictRejected, "", VerdictRejected, ""},
		{"index-only signed", VerdictAccepted, pack("rejected", "linux/amd64", "rejected", "linux/arm64/v8"), VerdictRejected,
			"no platform accepted (linux/amd64, linux/arm64/v8 rejected)"},
		{"amd64 only", VerdictRejected, pack("accepted", "linux/amd64", "rejected", "linux/arm64/v8"), VerdictPartial,
			"accepted for linux/amd64; rejected for linux/arm64/v8"},
		{"instances signed, index not", VerdictRejected, pack("accepted", "linux/amd64", "no-policy", "linux/arm64"), VerdictAccepted, "all 2 platforms accepted"},
		{"one unevaluated", VerdictAccepted, pack("accepted", "linux/amd64", "unevaluated", "linux/arm64"), VerdictUnevaluated, "not evaluated for linux/arm64"},
		{"never looked at", "", pack("", "linux/amd64"), "", "signatures never looked at for linux/amd64"},
	} {
		v, why := PullVerdictOf(c.own, "", c.instances)
		if v != c.want || why != c.reason {
			t.Errorf("%s: %q (%q), want %q (%q)", c.name, v, why, c.want, c.reason)
		}
	}
}
