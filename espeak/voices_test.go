package espeak_test

import (
	"context"
	"testing"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/espeak"
)

func TestCatalog(t *testing.T) {
	t.Parallel()
	vs, err := espeak.Catalog{}.Voices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 || vs[0].ID != "espeak-skylar" {
		t.Fatalf("default voice = %v, want espeak-skylar first", vs)
	}
	seen := map[string]bool{}
	for _, v := range vs {
		if seen[v.ID] {
			t.Errorf("duplicate voice id %s", v.ID)
		}
		seen[v.ID] = true
		found := false
		for _, l := range agentphone.Languages {
			found = found || l == v.Language
		}
		if !found {
			t.Errorf("voice %s speaks %s, not an agent language", v.ID, v.Language)
		}
		if ev, ok := espeak.Lookup(v.ID); !ok || ev.ESpeakVoice == "" {
			t.Errorf("voice %s has no espeak-ng voice", v.ID)
		}
	}
}
