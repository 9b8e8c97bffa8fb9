package agentphone

import "context"

// Voice is a text-to-speech voice an agent can speak with.
type Voice struct {
	ID              string  // stored in Agent.Voice
	Name            string  // display name
	Provider        string  // e.g. "espeak"
	Gender          *string // "male", "female", or nil
	Accent          *string
	Language        string // BCP-47 locale the voice speaks best
	PreviewAudioURL *string
}

// VoiceCatalog lists the voices of the configured text-to-speech providers.
// The first voice is the default of new agents.
type VoiceCatalog interface {
	Voices(ctx context.Context) ([]Voice, error)
}
