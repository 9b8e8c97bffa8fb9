package httpapi

import (
	"net/http"

	"github.com/agentphone/agentphone"
)

// voiceJSON is a voice of GET /v1/agents/voices, in snake_case (spec §2.5,
// decision 8).
type voiceJSON struct {
	VoiceID         string  `json:"voice_id"`
	VoiceName       string  `json:"voice_name"`
	Provider        string  `json:"provider"`
	Gender          *string `json:"gender"`
	Accent          *string `json:"accent"`
	Language        string  `json:"language"`
	PreviewAudioURL *string `json:"preview_audio_url"`
}

type voiceListJSON struct {
	Data []voiceJSON `json:"data"`
}

func (s *Server) listVoices(w http.ResponseWriter, r *http.Request, _ agentphone.Scope) error {
	vs, err := s.voices.Voices(r.Context())
	if err != nil {
		return err
	}
	out := voiceListJSON{Data: make([]voiceJSON, len(vs))}
	for i, v := range vs {
		out.Data[i] = voiceJSON{
			VoiceID: v.ID, VoiceName: v.Name, Provider: v.Provider, Gender: v.Gender,
			Accent: v.Accent, Language: v.Language, PreviewAudioURL: v.PreviewAudioURL,
		}
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}
