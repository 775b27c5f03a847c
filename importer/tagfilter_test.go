package importer

import (
	"strings"
	"testing"
)

func TestPrioritizeTagsAsOpenShift(t *testing.T) {
	tags := []string{"other", "5.1.3", "v5.1-rc1", "latest", "5.1", "a", "v5.2", "v5.1.3", "10.0"}
	PrioritizeTags(tags)
	want := "latest 10.0 v5.2 5.1 v5.1-rc1 5.1.3 v5.1.3 a other"
	if got := strings.Join(tags, " "); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
