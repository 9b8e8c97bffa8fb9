package sip

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/audio"
)

// startRecording opens the recording of call when its account records
// calls: a two-channel WAV (caller left, agent right) at the call's rate
// (8 kHz for G.711, 16 kHz for G.722: recording at another rate would
// resample every frame of both sides, which took a quarter of the server's
// CPU at 500 calls), named after the call in the recordings folder. It
// returns the file's name relative to that folder and the recorder, or ""
// and nil.
func (s *Server) startRecording(ctx context.Context, call *agentphone.Call, rate int, log *slog.Logger) (string, *audio.Recorder) {
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
	rec, err := audio.NewRecorder(f, rate, audio.RecorderOptions{})
	if err != nil {
		f.Close()
		log.Error("starting the recording failed; not recording", "err", err)
		return "", nil
	}
	return name, rec
}

// callRate is the PCM rate of an answered call's negotiated codec (8000
// when it is not one this server decodes: startMedia then fails anyway).
func callRate(med *diago.DialogMedia) int {
	c, err := codecFor(media.CodecAudioFromSession(med.MediaSession()))
	if err != nil {
		return 8000
	}
	return c.SampleRate()
}

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

// discardRecording closes and deletes a recording that holds nothing of
// the call (its media never started).
func (s *Server) discardRecording(rec *audio.Recorder, name string, log *slog.Logger) {
	if rec == nil {
		return
	}
	_ = rec.Close()
	if err := os.Remove(filepath.Join(s.cfg.RecordingsDir, name)); err != nil {
		log.Warn("deleting an empty recording failed", "err", err)
	}
}
