package elevenlabs

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/agentphone/agentphone/audio"
)

func pcmBytes(samples []int16) []byte {
	var b []byte
	for _, s := range samples {
		b = binary.LittleEndian.AppendUint16(b, uint16(s))
	}
	return b
}

func TestStreamPCM_SplitSamples(t *testing.T) {
	t.Parallel()
	want := []int16{0, 1, -1, 32767, -32768, 256, -257, 12345}
	readers := map[string]func(io.Reader) io.Reader{
		"one byte at a time": iotest.OneByteReader,
		"half of each read":  iotest.HalfReader,
		"data with EOF":      iotest.DataErrReader,
		"whole":              func(r io.Reader) io.Reader { return r },
	}
	for name, wrap := range readers {
		var got []int16
		emits := 0
		err := streamPCM(context.Background(), wrap(bytes.NewReader(pcmBytes(want))), 8000, func(f audio.Frame) error {
			if f.Rate != 8000 || len(f.Samples) == 0 {
				t.Errorf("%s: frame %+v", name, f)
			}
			emits++
			got = append(got, f.Samples...)
			return nil
		})
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: got %v, %v; want %v", name, got, err, want)
		}
		if name == "one byte at a time" && emits != len(want) {
			t.Errorf("%s: %d emits, want one per completed sample", name, emits)
		}
	}
}

func TestStreamPCM_DropsATrailingOddByte(t *testing.T) {
	t.Parallel()
	raw := append(pcmBytes([]int16{7, 8}), 0x55)
	var got []int16
	err := streamPCM(context.Background(), iotest.OneByteReader(bytes.NewReader(raw)), 16000, func(f audio.Frame) error {
		got = append(got, f.Samples...)
		return nil
	})
	if err != nil || !slices.Equal(got, []int16{7, 8}) {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestStreamPCM_ReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset")
	r := io.MultiReader(bytes.NewReader(pcmBytes([]int16{1, 2, 3})), iotest.ErrReader(boom))
	var got []int16
	err := streamPCM(context.Background(), r, 16000, func(f audio.Frame) error {
		got = append(got, f.Samples...)
		return nil
	})
	if !errors.Is(err, boom) || !slices.Equal(got, []int16{1, 2, 3}) {
		t.Fatalf("got %v, %v; want the samples before the error, then the error", got, err)
	}
}

func TestLanguageCode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"en-US": "en", "EN": "en", "es-419": "es", "pt_BR": "pt", "zh-Hant-TW": "zh",
		"fil": "", "": "", "x-klingon": "", "e1": "", " de ": "de", "é-FR": "",
	} {
		if got := languageCode(in); got != want {
			t.Errorf("languageCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseError(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		status int
		body   string
		want   Error
	}{
		{"current shape", 400,
			`{"detail":{"type":"validation_error","code":"invalid_parameters","message":"Bad speed.","status":"invalid_parameters","request_id":"r1","param":"voice_settings.speed"}}`,
			Error{Status: 400, Type: "validation_error", Code: "invalid_parameters", Message: "Bad speed.", Param: "voice_settings.speed", RequestID: "r1"}},
		{"legacy shape", 401,
			`{"detail":{"status":"invalid_api_key","message":"Invalid API key"}}`,
			Error{Status: 401, Code: "invalid_api_key", Message: "Invalid API key"}},
		{"code without message", 429,
			`{"detail":{"code":"too_many_concurrent_requests"}}`,
			Error{Status: 429, Code: "too_many_concurrent_requests", Message: "Too Many Requests"}},
		{"string detail", 404, `{"detail":"Not Found"}`, Error{Status: 404, Message: "Not Found"}},
		{"validation list", 422,
			`{"detail":[{"loc":["body","text"],"msg":"Field required","type":"missing"},{"loc":["query","output_format"],"msg":"bad","type":"enum"}]}`,
			Error{Status: 422, Type: "validation_error", Message: "body.text: Field required; query.output_format: bad"}},
		{"html", 502, "<html>\n<body>Bad gateway</body></html>", Error{Status: 502, Message: "Bad Gateway: <html> <body>Bad gateway</body></html>"}},
		{"empty", 500, "", Error{Status: 500, Message: "Internal Server Error"}},
		{"unknown status", 599, "", Error{Status: 599, Message: "unexpected status"}},
		{"other json", 500, `{"error":"x"}`, Error{Status: 500, Message: `Internal Server Error: {"error":"x"}`}},
	}
	for _, c := range cases {
		if got := parseError(c.status, []byte(c.body)); *got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, *got, c.want)
		}
	}
	long := parseError(500, []byte(strings.Repeat("é", 300)))
	if len(long.Message) > 240 || !strings.HasSuffix(long.Message, "…") || !strings.HasPrefix(long.Message, "Internal Server Error: é") {
		t.Errorf("long body: message %q", long.Message)
	}
}

// FuzzParseError: no error body, however malformed, panics or gives an
// empty message.
func FuzzParseError(f *testing.F) {
	f.Add(400, []byte(`{"detail":{"status":"x","message":"y"}}`))
	f.Add(422, []byte(`{"detail":[{"loc":[1,{"a":2}],"msg":"m"}]}`))
	f.Add(500, []byte(`{"detail":null}`))
	f.Add(500, []byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := parseError(status, body)
		if e.Message == "" || e.Status != status || e.Error() == "" {
			t.Fatalf("parseError(%d, %q) = %+v", status, body, e)
		}
	})
}

// FuzzEntriesOf: any voice list ElevenLabs could send gives unique ids
// under the prefix, each resolvable to its voice, without panicking.
func FuzzEntriesOf(f *testing.F) {
	f.Add([]byte(`{"voices":[{"voice_id":"a","name":"Brian - Deep"},{"voice_id":"b","name":"brian"}]}`))
	f.Add([]byte(`{"voices":[{"voice_id":"x","name":"","labels":{"gender":1,"accent":"ñandú"},"verified_languages":[{"locale":"en_us"}]}]}`))
	f.Add([]byte(`{"voices":[{"voice_id":"abcdefghij0123456789","name":"abcdefghij0123456789"},{"voice_id":"z","name":"abcdefghij0123456789"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var body struct {
			Voices []apiVoice `json:"voices"`
		}
		if json.Unmarshal(data, &body) != nil {
			return
		}
		entries := entriesOf(body.Voices)
		seen := map[string]bool{}
		for _, e := range entries {
			key := strings.ToLower(e.voice.ID)
			if seen[key] || !strings.HasPrefix(e.voice.ID, VoicePrefix) || e.voiceID == "" {
				t.Fatalf("entry %+v (duplicate %v)", e, seen[key])
			}
			seen[key] = true
		}
		// Every listed id resolves to its own voice.
		c := &Catalog{now: time.Now, entries: entries, expires: time.Now().Add(time.Hour)}
		for _, e := range entries {
			if got, err := c.Resolve(context.Background(), e.voice.ID); err != nil || got != e.voiceID {
				t.Fatalf("Resolve(%q) = %q, %v; want %q", e.voice.ID, got, err, e.voiceID)
			}
		}
	})
}
