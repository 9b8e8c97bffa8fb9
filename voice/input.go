package voice

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/agentphone/agentphone/audio"
)

// input reads the caller's audio: each 20 ms frame is cleaned of noise
// (the agent's denoisingMode), classified voiced or not by an energy
// detector adapted to the line's noise floor, and passed on to speech
// recognition — a stream (Deepgram) or, for providers that take one file
// per request, the utterances the detector cuts.
type input struct {
	cv       *conv
	denoiser *audio.Denoiser
	det      *audio.EnergyDetector
	beeps    *audio.BeepDetector // while the engine listens for a voicemail beep
	stream   TranscriptionStream // nil: none
	file     FileTranscriber     // nil: none
	opts     TranscribeOptions

	// The utterance being cut for file recognition.
	utter    []int16
	preroll  [][]int16 // the last frames before speech, so its onset is kept
	voicedMs int
	began    time.Time // when the utterance's voice began
}

// Utterance cutting for per-file recognition.
const (
	prerollFrames = 15               // 300 ms kept before the detector's onset
	minUtterance  = 200              // ms of voice below which nothing is sent (a click, a cough)
	maxUtterance  = 30 * time.Second // a longer utterance is sent in parts
)

// startInput prepares the caller's side of the call; the returned input
// runs until the media ends. An error means recognition is unavailable
// (the call goes on without it).
func (cv *conv) startInput(ctx context.Context) (*input, error) {
	s := cv.s
	in := &input{
		cv:   cv,
		det:  audio.NewEnergyDetector(audio.EnergyDetectorOptions{}),
		opts: TranscribeOptions{Rate: s.Rate, Language: s.Agent.Language, Mode: s.Agent.STTMode},
	}
	var err error
	if cv.hasSTT { // only recognition needs it: the silence time-out does not
		in.denoiser = audio.NewDenoiser(s.Rate, audio.DenoiseMode(s.Agent.DenoisingMode))
	}
	switch {
	case cv.c.Listen != nil:
		in.stream, err = cv.c.Listen.Open(ctx, in.opts)
		if err != nil {
			cv.hasSTT = false
			return in, fmt.Errorf("opening speech recognition: %w", err)
		}
		if f, ok := in.stream.(Finalizer); ok {
			cv.finalize = f.Finalize
		}
		cv.goRun(func() { in.results(ctx) })
	case cv.c.ListenFile != nil:
		in.file = cv.c.ListenFile
	}
	return in, nil
}

// results passes the stream's transcripts to the call's loop.
func (in *input) results(ctx context.Context) {
	for t := range in.stream.Results() {
		in.cv.emit(transcriptEvent{t: t, at: in.cv.now()})
	}
	if err := in.stream.Err(); err != nil && ctx.Err() == nil {
		in.cv.emit(sttFailed{err})
	}
}

func (in *input) run(ctx context.Context) {
	defer func() {
		if in.stream != nil {
			_ = in.stream.Close()
		}
	}()
	sendFailed := false
	var prev bool            // the last frame was voiced
	var lastVoiced time.Time // the caller's last voiced frame
	for {
		f, err := in.cv.s.Caller.ReadFrame(ctx)
		if err != nil {
			if ctx.Err() == nil {
				in.cv.emit(inputEnded{err})
			}
			return
		}
		beep := false
		if in.cv.listenBeeps.Load() { // on the line's own audio: denoising may soften a tone
			if in.beeps == nil {
				in.beeps = audio.NewBeepDetector(f.Rate)
			}
			beep = in.beeps.Push(f.Samples)
		}
		if in.denoiser != nil {
			f = in.denoiser.Process(f)
		}
		// speaking bridges the gaps between words (the detector's 200 ms
		// hangover): utterances are cut on it. voiced is this frame's own
		// voice: turn-taking counts silence from the last voiced frame.
		speaking := in.det.Push(f)
		voiced := in.det.SilentFor() == 0
		if in.stream != nil && !sendFailed {
			if err := in.stream.Send(f); err != nil {
				sendFailed = true
				in.cv.emit(sttFailed{fmt.Errorf("sending audio to speech recognition: %w", err)})
			}
		}
		if in.file != nil {
			in.cut(ctx, f, speaking)
		}
		now := in.cv.now()
		if voiced {
			lastVoiced = now
		}
		if voiced != prev || beep || in.cv.perFrame.Load() {
			in.cv.emit(frameEvent{voiced: voiced, beep: beep, at: now, lastVoiced: lastVoiced})
		}
		prev = voiced
	}
}

// cut gathers an utterance while the detector hears voice (its 200 ms
// hangover bridges the gaps between words) and sends it to recognition
// when the voice stops.
func (in *input) cut(ctx context.Context, f audio.Frame, voiced bool) {
	if !voiced && in.utter == nil {
		in.preroll = append(in.preroll, append([]int16(nil), f.Samples...))
		if len(in.preroll) > prerollFrames {
			in.preroll = in.preroll[1:]
		}
		return
	}
	if in.utter == nil {
		for _, p := range in.preroll {
			in.utter = append(in.utter, p...)
		}
		in.preroll = in.preroll[:0]
		in.voicedMs = 0
		in.began = in.cv.now()
	}
	in.utter = append(in.utter, f.Samples...)
	if voiced {
		in.voicedMs += 20
	}
	full := time.Duration(len(in.utter))*time.Second/time.Duration(f.Rate) >= maxUtterance
	if voiced && !full {
		return
	}
	speech := audio.Frame{Samples: in.utter, Rate: f.Rate}
	in.utter = nil
	if in.voicedMs < minUtterance {
		return
	}
	in.cv.emit(utteranceCut{})
	began := in.began
	in.cv.goRun(func() {
		t, err := in.file.TranscribeFile(ctx, speech, in.opts)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
				in.cv.emit(sttFailed{fmt.Errorf("transcribing an utterance: %w", err)})
			}
			in.cv.emit(transcriptEvent{t: Transcript{Final: true}, at: in.cv.now(), began: began})
			return
		}
		t.Final = true
		in.cv.emit(transcriptEvent{t: t, at: in.cv.now(), began: began})
	})
}

// utteranceCut: an utterance went to recognition; the turn waits for its
// words.
type utteranceCut struct{}
