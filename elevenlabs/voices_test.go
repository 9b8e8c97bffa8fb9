package elevenlabs_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/elevenlabs"
	"github.com/agentphone/agentphone/elevenlabs/elevenlabstest"
)

// clock is a settable clock for the catalogue.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// setupCatalog starts a fake and a Catalog with a settable clock.
func setupCatalog(t *testing.T, mod func(*elevenlabs.Config)) (*elevenlabs.Catalog, *elevenlabstest.Server, *clock) {
	t.Helper()
	clk := newClock()
	sp, srv := setup(t, func(c *elevenlabs.Config) {
		c.Now = clk.Now
		if mod != nil {
			mod(c)
		}
	})
	return sp.Catalog(), srv, clk
}

func voiceFetches(srv *elevenlabstest.Server) int { return len(srv.RequestsTo("/v1/voices")) }

func byID(vs []agentphone.Voice) map[string]agentphone.Voice {
	m := map[string]agentphone.Voice{}
	for _, v := range vs {
		m[v.ID] = v
	}
	return m
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func TestCatalog_Voices_FromAPI(t *testing.T) {
	t.Parallel()
	cat, srv, _ := setupCatalog(t, nil)
	vs, err := cat.Voices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, v := range vs {
		ids = append(ids, v.ID)
		if v.Provider != "elevenlabs" {
			t.Errorf("%s: provider %q, want elevenlabs", v.ID, v.Provider)
		}
	}
	// Sorted by name; Rachel is a legacy voice, listed with show_legacy.
	want := []string{"11labs-Brian", "11labs-George", "11labs-Lukas-Office", "11labs-Rachel", "11labs-Sarah"}
	if !slices.Equal(ids, want) {
		t.Fatalf("ids %v, want %v", ids, want)
	}
	m := byID(vs)
	cases := []struct {
		id, name, gender, accent, language, preview string
	}{
		{"11labs-Brian", "Brian", "male", "American", "en-US", "https://storage.example/voices/brian.mp3"},
		{"11labs-George", "George", "male", "British", "en-GB", "<nil>"},
		{"11labs-Lukas-Office", "Lukas Office", "male", "German", "de", "<nil>"},
		{"11labs-Sarah", "Sarah", "female", "American", "en-US", "<nil>"},
	}
	for _, c := range cases {
		v := m[c.id]
		if v.Name != c.name || str(v.Gender) != c.gender || str(v.Accent) != c.accent ||
			v.Language != c.language || str(v.PreviewAudioURL) != c.preview {
			t.Errorf("%s: got {%s %s %s %s %s}, want {%s %s %s %s %s}", c.id,
				v.Name, str(v.Gender), str(v.Accent), v.Language, str(v.PreviewAudioURL),
				c.name, c.gender, c.accent, c.language, c.preview)
		}
	}

	reqs := srv.RequestsTo("/v1/voices")
	if len(reqs) != 1 {
		t.Fatalf("%d voice list requests, want 1", len(reqs))
	}
	if reqs[0].Query.Get("show_legacy") != "true" || reqs[0].Header.Get("xi-api-key") != srv.APIKey {
		t.Errorf("request %v %v, want show_legacy=true and the key", reqs[0].Query, reqs[0].Header)
	}
}

func TestCatalog_Voices_Cached(t *testing.T) {
	t.Parallel()
	cat, srv, clk := setupCatalog(t, func(c *elevenlabs.Config) { c.VoicesRefresh = time.Hour })

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := cat.Voices(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if _, err := cat.Voices(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := voiceFetches(srv); n != 1 {
		t.Fatalf("%d fetches for 9 calls within the refresh interval, want 1", n)
	}

	srv.SetVoices(append(elevenlabstest.DefaultVoices(), elevenlabstest.Voice{
		VoiceID: "NewVoice000000000001", Name: "Nova", Category: "generated",
	})...)
	clk.Advance(59 * time.Minute)
	vs, _ := cat.Voices(context.Background())
	if _, ok := byID(vs)["11labs-Nova"]; ok || voiceFetches(srv) != 1 {
		t.Fatal("the list was fetched again before the refresh interval")
	}
	clk.Advance(2 * time.Minute)
	vs, _ = cat.Voices(context.Background())
	if _, ok := byID(vs)["11labs-Nova"]; !ok || voiceFetches(srv) != 2 {
		t.Fatalf("after the refresh interval: %d fetches, ids %v; want a second fetch listing Nova", voiceFetches(srv), byID(vs))
	}
}

func TestCatalog_Voices_FallbackWhenTheAPIFails(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	cat, srv, clk := setupCatalog(t, func(c *elevenlabs.Config) {
		c.VoicesRetry = time.Minute
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	srv.FailNext(500, "internal_error", "Something went wrong.")

	vs, err := cat.Voices(context.Background())
	if err != nil {
		t.Fatalf("Voices failed with the API down: %v", err)
	}
	if !slices.EqualFunc(vs, elevenlabs.BuiltinVoices(), sameVoice) {
		t.Fatalf("got %d voices, want the built-in list", len(vs))
	}
	m := byID(vs)
	if v := m["11labs-Rachel"]; str(v.Gender) != "female" || str(v.Accent) != "American" || v.Language != "en-US" {
		t.Errorf("built-in Rachel %+v", v)
	}
	if !strings.Contains(logs.String(), "Something went wrong.") {
		t.Errorf("log %q lacks the cause", logs.String())
	}
	for _, c := range []struct{ id, want string }{
		{"11labs-Rachel", "21m00Tcm4TlvDq8ikWAM"}, {"11labs-Brian", "nPczCjzI2devNBz1zQrb"},
		{"11labs-George", "JBFqnCBsd6RMkjVDRZzb"}, {"11labs-Sarah", "EXAVITQu4vr4xnSDxMaL"},
	} {
		if got, err := cat.Resolve(context.Background(), c.id); err != nil || got != c.want {
			t.Errorf("Resolve(%s) = %q, %v; want %s", c.id, got, err, c.want)
		}
	}

	// Not asked again before the retry interval…
	if _, err := cat.Voices(context.Background()); err != nil || voiceFetches(srv) != 1 {
		t.Fatalf("%d fetches before the retry interval, want 1", voiceFetches(srv))
	}
	// …then the account's list replaces the built-in one.
	clk.Advance(time.Minute + time.Second)
	vs, _ = cat.Voices(context.Background())
	if _, ok := byID(vs)["11labs-Lukas-Office"]; !ok || voiceFetches(srv) != 2 {
		t.Fatalf("after the retry interval: %d fetches, want the account's list", voiceFetches(srv))
	}
}

func sameVoice(a, b agentphone.Voice) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Provider == b.Provider && a.Language == b.Language &&
		str(a.Gender) == str(b.Gender) && str(a.Accent) == str(b.Accent) && str(a.PreviewAudioURL) == str(b.PreviewAudioURL)
}

func TestCatalog_Voices_SlowAPI(t *testing.T) {
	t.Parallel()
	cat, srv, _ := setupCatalog(t, func(c *elevenlabs.Config) { c.VoicesTimeout = 100 * time.Millisecond })
	srv.HangVoices(true)
	start := time.Now()
	vs, err := cat.Voices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Voices took %v with a 100 ms timeout", d)
	}
	if !slices.EqualFunc(vs, elevenlabs.BuiltinVoices(), sameVoice) {
		t.Errorf("got %d voices, want the built-in list", len(vs))
	}
}

func TestCatalog_Voices_KeepsTheLastListWhenARefreshFails(t *testing.T) {
	t.Parallel()
	cat, srv, clk := setupCatalog(t, nil)
	if _, err := cat.Voices(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Hour)
	srv.FailNext(503, "service_unavailable", "Down for maintenance.")
	vs, err := cat.Voices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if voiceFetches(srv) != 2 {
		t.Fatalf("%d fetches, want a refresh", voiceFetches(srv))
	}
	if _, ok := byID(vs)["11labs-Lukas-Office"]; !ok {
		t.Error("a failed refresh replaced the account's list with the built-in one")
	}
}

func TestCatalog_Voices_WaitRespectsContext(t *testing.T) {
	t.Parallel()
	cat, srv, _ := setupCatalog(t, func(c *elevenlabs.Config) { c.VoicesTimeout = time.Minute })
	srv.HangVoices(true)
	first := make(chan struct{})
	go func() { // holds the first fetch
		defer close(first)
		_, _ = cat.Voices(context.Background())
	}()
	await(t, srv.Hung(), "the first fetch to reach the fake")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := cat.Voices(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Voices with a cancelled context while the first fetch runs: %v, want context.Canceled", err)
	}
	srv.HangVoices(false)
	srv.CloseClientConnections() // ends the hung fetch
	await(t, first, "the first fetch to end")
}

func TestCatalog_Voices_ReturnsCopies(t *testing.T) {
	t.Parallel()
	cat, _, _ := setupCatalog(t, nil)
	vs, _ := cat.Voices(context.Background())
	*byIDPtr(vs, "11labs-Brian").Gender = "changed"
	vs[0].Name = "changed"
	again, _ := cat.Voices(context.Background())
	if v := byID(again)["11labs-Brian"]; str(v.Gender) != "male" || v.Name != "Brian" {
		t.Errorf("a caller's change reached the catalogue: %+v", v)
	}
}

func byIDPtr(vs []agentphone.Voice, id string) *agentphone.Voice {
	for i := range vs {
		if vs[i].ID == id {
			return &vs[i]
		}
	}
	return nil
}

func TestCatalog_Voices_UniqueIDs(t *testing.T) {
	t.Parallel()
	cat, srv, _ := setupCatalog(t, nil)
	srv.SetVoices(
		elevenlabstest.Voice{VoiceID: "nPczCjzI2devNBz1zQrb", Name: "Brian - Deep, Resonant and Comforting", Category: "premade"},
		elevenlabstest.Voice{VoiceID: "MyBrianClone00000001", Name: "brian", Category: "cloned"},
		elevenlabstest.Voice{VoiceID: "Unnamed0000000000001", Name: "  ", Category: "generated"},
		elevenlabstest.Voice{VoiceID: "Looks0000000000000001"[:20], Name: "abcdefghij0123456789", Category: "generated"},
	)
	vs, _ := cat.Voices(context.Background())
	seen := map[string]bool{}
	for _, v := range vs {
		if seen[strings.ToLower(v.ID)] {
			t.Errorf("id %s listed twice", v.ID)
		}
		seen[strings.ToLower(v.ID)] = true
	}
	for _, c := range []struct{ id, want string }{
		{"11labs-Brian", "nPczCjzI2devNBz1zQrb"},
		{"11labs-MyBrianClone00000001", "MyBrianClone00000001"},
		{"11labs-Unnamed0000000000001", "Unnamed0000000000001"},
	} {
		if !seen[strings.ToLower(c.id)] {
			t.Errorf("%s not listed; ids %v", c.id, seen)
		}
		if got, err := cat.Resolve(context.Background(), c.id); err != nil || got != c.want {
			t.Errorf("Resolve(%s) = %q, %v; want %s", c.id, got, err, c.want)
		}
	}
}

func TestCatalog_Resolve(t *testing.T) {
	t.Parallel()
	cat, _, _ := setupCatalog(t, nil)
	cases := []struct{ id, want string }{
		{"11labs-Brian", "nPczCjzI2devNBz1zQrb"},
		{"11labs-brian", "nPczCjzI2devNBz1zQrb"},
		{"11LABS-BRIAN", "nPczCjzI2devNBz1zQrb"},
		{"11labs-nPczCjzI2devNBz1zQrb", "nPczCjzI2devNBz1zQrb"},
		{"11labs-Lukas-Office", "Cl0nedVoiceLukas0001"},
		{"11labs-Rachel", "21m00Tcm4TlvDq8ikWAM"},
		{"11labs-Adam", "pNInz6obpgDQGcFmaJgB"},                 // premade, not in the account's list
		{"11labs-abcdefghij0123456789", "abcdefghij0123456789"}, // any voice_id
		{"", "nPczCjzI2devNBz1zQrb"},                            // the first voice
	}
	for _, c := range cases {
		if got, err := cat.Resolve(context.Background(), c.id); err != nil || got != c.want {
			t.Errorf("Resolve(%q) = %q, %v; want %s", c.id, got, err, c.want)
		}
	}
	for _, id := range []string{"11labs-Nobody", "11labs-", "espeak-brian", "Brian", "11labs-short0123"} {
		if got, err := cat.Resolve(context.Background(), id); !errors.Is(err, elevenlabs.ErrUnknownVoice) {
			t.Errorf("Resolve(%q) = %q, %v; want ErrUnknownVoice", id, got, err)
		}
	}
}

func TestCatalog_Refresh(t *testing.T) {
	t.Parallel()
	sp, srv := setup(t, func(c *elevenlabs.Config) { c.APIKey = "sk_wrong" })
	err := sp.Catalog().Refresh(context.Background())
	var e *elevenlabs.Error
	if !errors.As(err, &e) || e.Status != 401 {
		t.Fatalf("Refresh with a wrong key: %v, want a 401 *Error", err)
	}
	// The catalogue still answers, with the built-in list, without asking again.
	vs, err := sp.Catalog().Voices(context.Background())
	if err != nil || len(vs) != len(elevenlabs.BuiltinVoices()) {
		t.Fatalf("Voices after a failed Refresh: %d voices, %v", len(vs), err)
	}
	if n := voiceFetches(srv); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
}

func TestBuiltinVoices(t *testing.T) {
	t.Parallel()
	vs := elevenlabs.BuiltinVoices()
	m := byID(vs)
	for _, id := range []string{"11labs-Rachel", "11labs-Brian", "11labs-Sarah", "11labs-George", "11labs-Aria"} {
		if _, ok := m[id]; !ok {
			t.Errorf("%s missing from the built-in voices", id)
		}
	}
	if !slices.IsSortedFunc(vs, func(a, b agentphone.Voice) int { return strings.Compare(a.Name, b.Name) }) {
		t.Error("built-in voices not sorted by name")
	}
	for _, v := range vs {
		if v.Provider != "elevenlabs" || v.Language == "" || !elevenlabs.IsVoice(v.ID) {
			t.Errorf("built-in voice %+v", v)
		}
	}
	if str(m["11labs-River"].Gender) != "<nil>" {
		t.Error("River, a neutral voice, has a gender")
	}
}

func TestIsVoice(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]bool{
		"11labs-Brian": true, "11Labs-x": true, "11labs-": true,
		"espeak-brian": false, "": false, "11labs": false, "openai-alloy": false,
	} {
		if got := elevenlabs.IsVoice(id); got != want {
			t.Errorf("IsVoice(%q) = %v, want %v", id, got, want)
		}
	}
}
