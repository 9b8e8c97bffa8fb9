package elevenlabstest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/agentphone/agentphone/elevenlabs/elevenlabstest"
)

func post(t *testing.T, srv *elevenlabstest.Server, key, path, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("xi-api-key", key)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, raw
}

// detail decodes ElevenLabs' error object.
func detail(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var body struct {
		Detail map[string]any `json:"detail"`
	}
	if err := json.Unmarshal(raw, &body); err != nil || body.Detail == nil {
		t.Fatalf("body %s is not ElevenLabs' error object: %v", raw, err)
	}
	return body.Detail
}

const brian = "/v1/text-to-speech/nPczCjzI2devNBz1zQrb/stream"

func TestServer_Speech(t *testing.T) {
	t.Parallel()
	srv := elevenlabstest.NewServer()
	defer srv.Close()
	resp, raw := post(t, srv, srv.APIKey, brian+"?output_format=pcm_8000",
		`{"text":"Hello","model_id":"eleven_flash_v2_5","language_code":"en","voice_settings":{"speed":1.2}}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, raw)
	}
	if want := 2 * len(elevenlabstest.Tone("Hello", 8000)); len(raw) != want || want != 2*8000*5*elevenlabstest.MsPerChar/1000 {
		t.Errorf("%d bytes of PCM, want %d", len(raw), want)
	}
	if srv.Completed() != 1 {
		t.Errorf("Completed %d, want 1", srv.Completed())
	}
	r := srv.Requests()[0]
	if r.VoiceID != "nPczCjzI2devNBz1zQrb" || r.Speech == nil || r.Speech.Text != "Hello" || *r.Speech.VoiceSettings.Speed != 1.2 {
		t.Errorf("recorded %+v", r)
	}
}

func TestServer_Refusals(t *testing.T) {
	t.Parallel()
	srv := elevenlabstest.NewServer()
	defer srv.Close()
	cases := []struct {
		name, key, path, body string
		status                int
		code                  string // "" for FastAPI's 422 list
	}{
		{"no key", "", brian + "?output_format=pcm_8000", `{"text":"a"}`, 401, "needs_authorization"},
		{"wrong key", "sk_x", brian + "?output_format=pcm_8000", `{"text":"a"}`, 401, "invalid_api_key"},
		{"unknown voice", srv.APIKey, "/v1/text-to-speech/abcdefghij0123456789/stream?output_format=pcm_8000", `{"text":"a"}`, 404, "voice_not_found"},
		{"mp3", srv.APIKey, brian + "?output_format=mp3_44100_128", `{"text":"a"}`, 400, "invalid_parameters"},
		{"no format", srv.APIKey, brian, `{"text":"a"}`, 400, "invalid_parameters"},
		{"empty text", srv.APIKey, brian + "?output_format=pcm_8000", `{"text":" "}`, 400, "invalid_parameters"},
		{"unknown model", srv.APIKey, brian + "?output_format=pcm_8000", `{"text":"a","model_id":"eleven_x"}`, 400, "model_not_found"},
		{"speed", srv.APIKey, brian + "?output_format=pcm_8000", `{"text":"a","voice_settings":{"speed":1.5}}`, 400, "invalid_parameters"},
		{"language for v2", srv.APIKey, brian + "?output_format=pcm_8000", `{"text":"a","model_id":"eleven_multilingual_v2","language_code":"fr"}`, 400, "invalid_parameters"},
		{"language not ISO 639-1", srv.APIKey, brian + "?output_format=pcm_8000", `{"text":"a","model_id":"eleven_flash_v2_5","language_code":"en-US"}`, 400, "invalid_parameters"},
		{"latency", srv.APIKey, brian + "?output_format=pcm_8000&optimize_streaming_latency=9", `{"text":"a"}`, 422, ""},
		{"unknown field", srv.APIKey, brian + "?output_format=pcm_8000", `{"text":"a","speed":1}`, 422, ""},
		{"no text", srv.APIKey, brian + "?output_format=pcm_8000", `{"model_id":"eleven_flash_v2_5"}`, 422, ""},
	}
	for _, c := range cases {
		resp, raw := post(t, srv, c.key, c.path, c.body)
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d (%s), want %d", c.name, resp.StatusCode, raw, c.status)
			continue
		}
		if c.code == "" {
			var list struct {
				Detail []struct {
					Loc []any  `json:"loc"`
					Msg string `json:"msg"`
				} `json:"detail"`
			}
			if json.Unmarshal(raw, &list) != nil || len(list.Detail) == 0 || list.Detail[0].Msg == "" {
				t.Errorf("%s: body %s, want FastAPI's validation list", c.name, raw)
			}
			continue
		}
		d := detail(t, raw)
		if d["code"] != c.code || d["status"] != c.code || d["message"] == "" || d["request_id"] == "" || d["type"] == "" {
			t.Errorf("%s: detail %v, want code %s with a message, type and request_id", c.name, d, c.code)
		}
	}
}

func TestServer_Voices(t *testing.T) {
	t.Parallel()
	srv := elevenlabstest.NewServer()
	defer srv.Close()
	names := func(query string) []string {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/voices"+query, nil)
		req.Header.Set("xi-api-key", srv.APIKey)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Voices []struct {
				VoiceID string `json:"voice_id"`
				Name    string `json:"name"`
			} `json:"voices"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range body.Voices {
			out = append(out, v.Name)
		}
		return out
	}
	without, with := names(""), names("?show_legacy=true")
	if len(with) != len(elevenlabstest.DefaultVoices()) || len(without) != len(with)-1 {
		t.Errorf("voices %v without legacy, %v with; want Rachel only with show_legacy", without, with)
	}
	for _, n := range without {
		if n == "Rachel" {
			t.Error("legacy Rachel listed without show_legacy")
		}
	}
}
