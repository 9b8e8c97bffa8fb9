package deepgram

import (
	"testing"
	"unicode/utf8"
)

// FuzzParseMessage feeds parseMessage, which reads what the network sends,
// arbitrary bytes: it must never panic, and what it accepts must be sane.
func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{
		resultsMsg, interimMsg, utEndMsg, startedMsg, metadataMsg, errorMsg,
		`{"type":"Results","start":1e308,"duration":1e308,"channel":{"alternatives":[{"transcript":"\u0000\ud800","confidence":-1}]}}`,
		`{"type":"Results","channel":null}`,
		`{"type":"Error","err_code":"INVALID_AUTH","err_msg":"Invalid credentials.","request_id":"x"}`,
		`{"type":"UtteranceEnd","last_word_end":-0}`,
		`{`, `null`, `""`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := parseMessage(data)
		if err != nil {
			return
		}
		tr := ev.transcript
		if tr.Confidence < 0 || tr.Confidence > 1 {
			t.Errorf("confidence %v", tr.Confidence)
		}
		if tr.Start < 0 || tr.End < tr.Start || ev.at < 0 {
			t.Errorf("times %v–%v, at %v", tr.Start, tr.End, ev.at)
		}
		if !utf8.ValidString(tr.Text) {
			t.Errorf("text %q is not UTF-8", tr.Text)
		}
		if ev.kind == evError && (ev.err == nil || ev.err.Message == "") {
			t.Errorf("Error event without a message: %+v", ev.err)
		}
		if ev.err != nil {
			_ = ev.err.Error()
		}
	})
}
