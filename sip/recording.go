package sip

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/audio"
)

// startRecording opens the recording of call when its account records
// calls: a two-channel WAV (caller left, agent right) named after the call
// in the recordings folder. It returns the file's name relative to that
// folder and the recorder, or "" and nil.
func (s *Server) startRecording(ctx context.Context, call *agentphone.Call, log *slog.Logger) (string, *audio.Recorder) {
	if s.cfg.RecordingsDir == "" {
		return "", nil
	}
	on, err := s.calls.Recording(ctx, call.AccountID)
	if err != nil {
		log.Error("reading the account's recording setting failed; not recording", "err", err)
		return "", nil
	}
	if !on {
		return "", nil
	}
	name := call.ID + ".wav"
	if err := os.MkdirAll(s.cfg.RecordingsDir, 0o750); err != nil {
		log.Error("creating the recordings folder failed; not recording", "err", err)
		return "", nil
	}
	f, err := os.OpenFile(filepath.Join(s.cfg.RecordingsDir, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		log.Error("creating the recording failed; not recording", "err", err)
		return "", nil
	}
	rec, err := audio.NewRecorder(f, recordingRate, audio.RecorderOptions{})
	if err != nil {
		f.Close()
		log.Error("starting the recording failed; not recording", "err", err)
		return "", nil
	}
	return name, rec
}

// recordingRate is the rate of recordings: wideband calls keep their
// quality, narrowband ones are upsampled.
const recordingRate = 16000

// closeRecording finishes a recording and returns its name for the call,
// or nil when there is none or it could not be finished.
func closeRecording(rec *audio.Recorder, name string, log *slog.Logger) *string {
	if rec == nil {
		return nil
	}
	if err := rec.Close(); err != nil {
		log.Error("finishing the recording failed", "err", err)
		return nil
	}
	return &name
}
