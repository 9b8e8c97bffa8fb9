package elevenlabs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/agentphone/agentphone"
)

// Provider is the provider of the catalogue's voices.
const Provider = "elevenlabs"

// VoicePrefix starts the id of every ElevenLabs voice: "11labs-Brian".
const VoicePrefix = "11labs-"

// ErrUnknownVoice is wrapped by the errors of Resolve and Stream for a
// voice id that names no ElevenLabs voice.
var ErrUnknownVoice = errors.New("unknown voice")

// IsVoice reports whether id is an ElevenLabs voice id (starts with
// VoicePrefix, in any case).
func IsVoice(id string) bool {
	_, ok := cutPrefixFold(id, VoicePrefix)
	return ok
}

// premade is one of ElevenLabs' premade voices, available to every
// account: the default voices of the voice library (2025) and the two
// best-known legacy ones, Rachel and Adam.
type premade struct {
	name, voiceID, gender, accent, language string
}

// premadeVoices is the catalogue while the account's list cannot be
// fetched. It is never modified.
var premadeVoices = []premade{
	{"Adam", "pNInz6obpgDQGcFmaJgB", "male", "American", "en-US"},
	{"Alice", "Xb7hH8MSUJpSbSDYk0k2", "female", "British", "en-GB"},
	{"Aria", "9BWtsMINqrJLrRacOk9x", "female", "American", "en-US"},
	{"Bill", "pqHfZKP75CvOlQylNhV4", "male", "American", "en-US"},
	{"Brian", "nPczCjzI2devNBz1zQrb", "male", "American", "en-US"},
	{"Callum", "N2lVS1w4EtoT3dr4eOWO", "male", "Transatlantic", "en-US"},
	{"Charlie", "IKne3meq5aSn9XLyUdCD", "male", "Australian", "en-AU"},
	{"Charlotte", "XB0fDUnXU5powFXDhCwa", "female", "Swedish", "en"},
	{"Chris", "iP95p4xoKVk53GoZ742B", "male", "American", "en-US"},
	{"Daniel", "onwK4e9ZLuTAKqWW03F9", "male", "British", "en-GB"},
	{"Eric", "cjVigY5qzO86Huf0OWal", "male", "American", "en-US"},
	{"George", "JBFqnCBsd6RMkjVDRZzb", "male", "British", "en-GB"},
	{"Jessica", "cgSgspJ2msm6clMCkdW9", "female", "American", "en-US"},
	{"Laura", "FGY2WhTYpPnrIDTdsKH5", "female", "American", "en-US"},
	{"Liam", "TX3LPaxmHKxFdv7VOQHJ", "male", "American", "en-US"},
	{"Lily", "pFZP5JQG7iQjIQuC4Bku", "female", "British", "en-GB"},
	{"Matilda", "XrExE9yKIg1WjnnlVkGX", "female", "American", "en-US"},
	{"Rachel", "21m00Tcm4TlvDq8ikWAM", "female", "American", "en-US"},
	{"River", "SAz9YHcvj6GT2YYXdXww", "", "American", "en-US"},
	{"Roger", "CwhRBWXzGAHq8TQ4Fs17", "male", "American", "en-US"},
	{"Sarah", "EXAVITQu4vr4xnSDxMaL", "female", "American", "en-US"},
	{"Will", "bIHbv24MWmeRgasZH58o", "male", "American", "en-US"},
}

// BuiltinVoices returns the voices the catalogue lists when ElevenLabs'
// voice list cannot be fetched: ElevenLabs' premade voices, sorted by
// name.
func BuiltinVoices() []agentphone.Voice {
	return voicesOf(builtinEntries())
}

// entry is one voice of the catalogue.
type entry struct {
	voice   agentphone.Voice
	voiceID string // ElevenLabs' voice_id
	name    string // the name part of voice.ID ("Brian")
}

func builtinEntries() []entry {
	out := make([]entry, len(premadeVoices))
	for i, p := range premadeVoices {
		v := agentphone.Voice{ID: VoicePrefix + p.name, Name: p.name, Provider: Provider, Language: p.language}
		if p.gender != "" {
			v.Gender = new(p.gender)
		}
		if p.accent != "" {
			v.Accent = new(p.accent)
		}
		out[i] = entry{voice: v, voiceID: p.voiceID, name: p.name}
	}
	return out
}

// Catalog lists the account's ElevenLabs voices; it implements
// agentphone.VoiceCatalog. The list is fetched from GET /v1/voices when
// first needed and kept for Config.VoicesRefresh. A fetch that fails or
// outlasts Config.VoicesTimeout leaves the last list fetched in place, or
// before any, the built-in list of premade voices (BuiltinVoices); the
// next fetch is tried after Config.VoicesRetry. One fetch runs at a time:
// callers that come meanwhile get the last list at once, or wait for the
// first. It is safe for concurrent use.
type Catalog struct {
	c       *client
	refresh time.Duration
	timeout time.Duration
	retry   time.Duration
	now     func() time.Time
	log     *slog.Logger

	mu      sync.Mutex // guards the fields below
	entries []entry    // nil before the first load
	fromAPI bool       // entries came from ElevenLabs
	expires time.Time  // when entries are fetched again
	loading chan struct{}
}

var _ agentphone.VoiceCatalog = (*Catalog)(nil)

func newCatalog(c *client, cfg Config) *Catalog {
	cat := &Catalog{
		c: c, refresh: cfg.VoicesRefresh, timeout: cfg.VoicesTimeout, retry: cfg.VoicesRetry,
		now: cfg.Now, log: cfg.Logger,
	}
	if cat.refresh == 0 {
		cat.refresh = DefaultVoicesRefresh
	}
	if cat.timeout == 0 {
		cat.timeout = DefaultVoicesTimeout
	}
	if cat.retry == 0 {
		cat.retry = DefaultVoicesRetry
	}
	if cat.now == nil {
		cat.now = time.Now
	}
	if cat.log == nil {
		cat.log = slog.New(slog.DiscardHandler)
	}
	return cat
}

// Voices implements agentphone.VoiceCatalog: the account's voices, sorted
// by name, with ids "11labs-<Name>" (the voice's name up to ElevenLabs'
// " - description" suffix, spaces as '-'; when two voices share a name a
// premade voice keeps it, and a voice whose name is taken or empty gets
// "11labs-<voice_id>"), provider "elevenlabs", gender and accent from the
// voice's labels, language from its verified languages or labels. It fails
// only when ctx ends while it waits for the first fetch.
func (c *Catalog) Voices(ctx context.Context) ([]agentphone.Voice, error) {
	entries, err := c.load(ctx)
	if err != nil {
		return nil, err
	}
	return voicesOf(entries), nil
}

// Resolve returns ElevenLabs' voice_id of a catalogue id: an id Voices
// lists ("11labs-Brian", compared without regard to case), "11labs-" and
// the voice_id of a listed voice, a premade voice's name even when the
// account's list lacks it, or "11labs-" followed by any 20-character
// ElevenLabs voice_id. "" is the catalogue's first voice. Anything else is
// an error wrapping ErrUnknownVoice; ctx's error is returned when ctx ends
// while it waits for the first fetch.
func (c *Catalog) Resolve(ctx context.Context, id string) (string, error) {
	rest, ok := cutPrefixFold(id, VoicePrefix)
	if id != "" && (!ok || rest == "") {
		return "", fmt.Errorf("elevenlabs: voice %q: %w", id, ErrUnknownVoice)
	}
	entries, err := c.load(ctx)
	if err != nil {
		return "", err
	}
	if id == "" {
		if len(entries) == 0 {
			return "", fmt.Errorf("elevenlabs: no voices: %w", ErrUnknownVoice)
		}
		return entries[0].voiceID, nil
	}
	for _, e := range entries {
		if strings.EqualFold(e.name, rest) {
			return e.voiceID, nil
		}
	}
	for _, e := range entries {
		if e.voiceID == rest {
			return e.voiceID, nil
		}
	}
	for _, p := range premadeVoices {
		if strings.EqualFold(p.name, rest) {
			return p.voiceID, nil
		}
	}
	if looksLikeVoiceID(rest) {
		return rest, nil
	}
	return "", fmt.Errorf("elevenlabs: voice %q: %w", id, ErrUnknownVoice)
}

// Refresh fetches the voice list now, whether or not the one kept is
// due, and returns the fetch's error (the list kept is then unchanged).
// The server may call it at start-up to report a wrong key early.
func (c *Catalog) Refresh(ctx context.Context) error {
	fctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	entries, err := c.fetch(fctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.storeLocked(entries, err)
	return err
}

// load returns the current entries, fetching them first when they are
// due. See Catalog for who waits.
func (c *Catalog) load(ctx context.Context) ([]entry, error) {
	c.mu.Lock()
	for {
		if c.entries != nil && (c.now().Before(c.expires) || c.loading != nil) {
			entries := c.entries
			c.mu.Unlock()
			return entries, nil
		}
		if c.loading == nil {
			break
		}
		wait := c.loading
		c.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, fmt.Errorf("elevenlabs: list voices: %w", ctx.Err())
		}
		c.mu.Lock()
	}
	done := make(chan struct{})
	c.loading = done
	c.mu.Unlock()

	// Not cut short by this caller's end: others may be waiting for it.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	entries, err := c.fetch(fctx)
	cancel()

	c.mu.Lock()
	defer c.mu.Unlock()
	c.storeLocked(entries, err)
	c.loading = nil
	close(done)
	return c.entries, nil
}

// storeLocked keeps the outcome of a fetch. c.mu is held.
func (c *Catalog) storeLocked(entries []entry, err error) {
	now := c.now()
	if err == nil {
		c.entries, c.fromAPI, c.expires = entries, true, now.Add(c.refresh)
		return
	}
	if c.fromAPI {
		c.log.Warn("elevenlabs: cannot refresh the voice list; keeping the last one", "err", err, "retry_in", c.retry)
	} else {
		c.log.Warn("elevenlabs: cannot fetch the voice list; listing the premade voices", "err", err, "retry_in", c.retry)
		c.entries = builtinEntries()
	}
	c.expires = now.Add(c.retry)
}

// apiVoice is a voice of GET /v1/voices. Labels are decoded loosely: a
// label that is not a string is ignored rather than failing the list.
type apiVoice struct {
	VoiceID           string         `json:"voice_id"`
	Name              string         `json:"name"`
	Category          string         `json:"category"`
	Labels            map[string]any `json:"labels"`
	PreviewURL        string         `json:"preview_url"`
	VerifiedLanguages []struct {
		Language string `json:"language"`
		Locale   string `json:"locale"`
	} `json:"verified_languages"`
}

// fetch gets the account's voices, legacy premade voices included (so that
// "11labs-Rachel" is listed whether or not the API answers). An empty list
// is an error: every account has the premade voices.
func (c *Catalog) fetch(ctx context.Context) ([]entry, error) {
	resp, err := c.c.do(ctx, http.MethodGet, "/v1/voices", url.Values{"show_legacy": {"true"}}, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Voices []apiVoice `json:"voices"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxVoicesBody)).Decode(&body); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("elevenlabs: GET /v1/voices: decoding response: %w", err)
	}
	entries := entriesOf(body.Voices)
	if len(entries) == 0 {
		return nil, errors.New("elevenlabs: GET /v1/voices: no voices")
	}
	return entries, nil
}

// entriesOf turns the API's voices into catalogue entries with unique ids.
func entriesOf(vs []apiVoice) []entry {
	vs = slices.DeleteFunc(slices.Clone(vs), func(v apiVoice) bool { return strings.TrimSpace(v.VoiceID) == "" })
	slices.SortStableFunc(vs, func(a, b apiVoice) int {
		if c := strings.Compare(strings.ToLower(shortName(a.Name)), strings.ToLower(shortName(b.Name))); c != 0 {
			return c
		}
		// ElevenLabs' own voice keeps its name: "11labs-Brian" is the
		// premade Brian, an account's clone named Brian gets its voice_id.
		if pa, pb := a.Category == "premade", b.Category == "premade"; pa != pb {
			if pa {
				return -1
			}
			return 1
		}
		return strings.Compare(a.VoiceID, b.VoiceID)
	})
	listed := map[string]bool{} // voice_ids
	taken := map[string]bool{}  // lower-cased id names
	out := make([]entry, 0, len(vs))
	for _, v := range vs {
		if listed[v.VoiceID] {
			continue
		}
		listed[v.VoiceID] = true
		name := idName(v.Name)
		if name == "" || looksLikeVoiceID(name) || taken[strings.ToLower(name)] {
			name = v.VoiceID
		}
		for base, n := name, 2; taken[strings.ToLower(name)]; n++ {
			name = base + "-" + strconv.Itoa(n) // only for voice_ids that are not ElevenLabs'
		}
		taken[strings.ToLower(name)] = true
		display := shortName(v.Name)
		if display == "" {
			display = v.VoiceID
		}
		av := agentphone.Voice{
			ID: VoicePrefix + name, Name: display, Provider: Provider,
			Language: voiceLanguage(v),
		}
		if g := strings.ToLower(label(v.Labels, "gender")); g == "male" || g == "female" {
			av.Gender = new(g)
		}
		if a := titleWords(label(v.Labels, "accent")); a != "" {
			av.Accent = new(a)
		}
		if u := strings.TrimSpace(v.PreviewURL); u != "" {
			av.PreviewAudioURL = new(u)
		}
		out = append(out, entry{voice: av, voiceID: v.VoiceID, name: name})
	}
	return out
}

// shortName is a voice's name without the " - description" ElevenLabs
// appends to its default voices ("Brian - Deep, Resonant and Comforting").
func shortName(name string) string {
	short, _, _ := strings.Cut(name, " - ")
	return strings.TrimSpace(short)
}

// idName is the name part of a voice's id: its short name with white space
// as '-' ("Office Clone" → "Office-Clone").
func idName(name string) string {
	return strings.Join(strings.Fields(shortName(name)), "-")
}

// looksLikeVoiceID reports whether s has the shape of ElevenLabs'
// voice_ids: 20 ASCII letters and digits.
func looksLikeVoiceID(s string) bool {
	if len(s) != 20 {
		return false
	}
	for i := range len(s) {
		ch := s[i]
		if !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9') {
			return false
		}
	}
	return true
}

// englishAccents maps an English voice's accent label to its locale.
var englishAccents = map[string]string{
	"american": "en-US", "transatlantic": "en-US", "british": "en-GB", "english": "en-GB",
	"scottish": "en-GB", "australian": "en-AU", "irish": "en-IE", "indian": "en-IN",
	"canadian": "en-CA", "south african": "en-ZA", "new zealand": "en-NZ",
}

// voiceLanguage is the BCP-47 locale a voice speaks best: its first
// verified language's locale, else its language label (or first verified
// language), refined by an English accent; "en" when nothing says.
func voiceLanguage(v apiVoice) string {
	if len(v.VerifiedLanguages) > 0 && strings.TrimSpace(v.VerifiedLanguages[0].Locale) != "" {
		return canonicalLocale(v.VerifiedLanguages[0].Locale)
	}
	lang := languageCode(label(v.Labels, "language"))
	if lang == "" && len(v.VerifiedLanguages) > 0 {
		lang = languageCode(v.VerifiedLanguages[0].Language)
	}
	if lang == "" || lang == "en" {
		if loc, ok := englishAccents[strings.ToLower(strings.TrimSpace(label(v.Labels, "accent")))]; ok {
			return loc
		}
	}
	if lang == "" {
		return "en"
	}
	return lang
}

// canonicalLocale writes a locale the BCP-47 way: "en_us" → "en-US".
func canonicalLocale(s string) string {
	parts := strings.FieldsFunc(strings.TrimSpace(s), func(r rune) bool { return r == '-' || r == '_' })
	for i, p := range parts {
		switch {
		case i == 0:
			parts[i] = strings.ToLower(p)
		case len(p) == 2:
			parts[i] = strings.ToUpper(p)
		case len(p) == 4:
			parts[i] = strings.ToUpper(p[:1]) + strings.ToLower(p[1:])
		}
	}
	return strings.Join(parts, "-")
}

// label returns a voice's label as a trimmed string, "" when it is absent
// or not a string.
func label(labels map[string]any, key string) string {
	s, _ := labels[key].(string)
	return strings.TrimSpace(s)
}

// titleWords capitalises each word: "south_african" → "South African".
func titleWords(s string) string {
	words := strings.Fields(strings.ReplaceAll(s, "_", " "))
	for i, w := range words {
		r, size := utf8.DecodeRuneInString(w)
		words[i] = string(unicode.ToUpper(r)) + w[size:]
	}
	return strings.Join(words, " ")
}

// voicesOf copies the entries' voices, pointers included, so that callers
// cannot change the catalogue.
func voicesOf(entries []entry) []agentphone.Voice {
	out := make([]agentphone.Voice, len(entries))
	for i, e := range entries {
		v := e.voice
		if v.Gender != nil {
			v.Gender = new(*v.Gender)
		}
		if v.Accent != nil {
			v.Accent = new(*v.Accent)
		}
		if v.PreviewAudioURL != nil {
			v.PreviewAudioURL = new(*v.PreviewAudioURL)
		}
		out[i] = v
	}
	return out
}

// cutPrefixFold is strings.CutPrefix without regard to ASCII case.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}
