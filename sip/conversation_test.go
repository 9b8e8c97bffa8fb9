package sip_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/audio"
	"github.com/agentphone/agentphone/deepgram"
	"github.com/agentphone/agentphone/deepgram/deepgramtest"
	"github.com/agentphone/agentphone/espeak"
	"github.com/agentphone/agentphone/openai"
	"github.com/agentphone/agentphone/openai/openaitest"
	"github.com/agentphone/agentphone/sip"
	"github.com/agentphone/agentphone/storetest"
	"github.com/agentphone/agentphone/voice"
	"github.com/agentphone/agentphone/webhook"
)

// The conversation tests run the whole engine over loopback: a phone
// speaks utterances synthesised by espeak-ng as RTP, the engine detects
// them and sends each to a speech-to-text double speaking OpenAI's
// transcription API (real audio, real detection and timing; only the
// words are scripted), posts the caller's turn to a real webhook receiver,
// and speaks its reply with espeak-ng back to the phone.

// loud is the level above which the phone counts what it hears as the
// agent speaking (espeak-ng speaks around -20 dBFS; an ambient bed sits
// at -40).
const loud = -32.0

// convRig is a rig whose calls run the conversation engine against a
// scripted speech-to-text double and a webhook receiver.
type convRig struct {
	*rig
	stt  *openaitest.Server
	hook *receiver
	conv *voice.Conversation
}

// receiver is the developer's webhook: answer decides the reply to each
// voice turn, writing to w as it likes (NDJSON, delays).
type receiver struct {
	t      *testing.T
	secret string
	answer func(w http.ResponseWriter, turn voiceTurn)
	turns  chan voiceTurn
}

// voiceTurn is what the receiver got.
type voiceTurn struct {
	Event   string `json:"event"`
	Channel string `json:"channel"`
	Data    struct {
		CallID     string  `json:"callId"`
		Transcript string  `json:"transcript"`
		Confidence float64 `json:"confidence"`
		Direction  string  `json:"direction"`
		DTMF       string  `json:"dtmf"`
	} `json:"data"`
	RecentHistory []struct {
		Content   string `json:"content"`
		Direction string `json:"direction"`
	} `json:"recentHistory"`
}

func (h *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if err := webhook.Verify(h.secret, r.Header, body, time.Now()); err != nil {
		h.t.Errorf("webhook signature: %v", err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var turn voiceTurn
	if err := json.Unmarshal(body, &turn); err != nil {
		h.t.Errorf("webhook body %s: %v", body, err)
		return
	}
	h.turns <- turn
	h.answer(w, turn)
}

// ndjson writes reply lines, flushing each.
func ndjson(w http.ResponseWriter, lines ...string) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	for _, l := range lines {
		_, _ = io.WriteString(w, l+"\n")
		w.(http.Flusher).Flush()
	}
}

func newConvRig(t *testing.T, b storetest.Backend, o rigOptions, answer func(w http.ResponseWriter, turn voiceTurn), script ...string) *convRig {
	t.Helper()
	stt := openaitest.NewServer()
	t.Cleanup(stt.Close)
	stt.Script(script...)
	tr, err := openai.NewTranscriber(openai.Config{BaseURL: stt.BaseURL()})
	if err != nil {
		t.Fatal(err)
	}
	conv := &voice.Conversation{Speech: &voice.SpeechCache{Synth: &espeak.Synthesizer{}}, ListenFile: tr, MaxDuration: time.Minute}
	o.runner = conv
	r := newRig(t, b, o)
	hook := &receiver{t: t, answer: answer, turns: make(chan voiceTurn, 16)}
	srv := httptest.NewServer(hook)
	t.Cleanup(srv.Close)
	webhooks := &agentphone.WebhookService{Store: r.store}
	w, err := webhooks.Upsert(t.Context(), r.sc, nil, agentphone.WebhookInput{URL: agentphone.Opt[string]{Set: true, Value: srv.URL + "/hook"}})
	if err != nil {
		t.Fatal(err)
	}
	hook.secret = w.Secret
	conv.Respond = &voice.WebhookResponder{Webhooks: webhooks, Calls: r.calls,
		Sender: &webhook.Sender{Client: webhook.NewHTTPClient(webhook.ClientOptions{}), UserAgent: "agentphone/test"}}
	return &convRig{rig: r, stt: stt, hook: hook, conv: conv}
}

// utterance is text spoken by espeak-ng, at 8 kHz, as a caller says it.
func utterance(t *testing.T, text string) []int16 {
	t.Helper()
	f, err := (&espeak.Synthesizer{}).Synthesize(t.Context(), text, "espeak-brian", 1, "en-US")
	if err != nil {
		t.Fatal(err)
	}
	r, err := audio.NewResampler(f.Rate, 8000)
	if err != nil {
		t.Fatal(err)
	}
	pcm := r.Resample(f.Samples)
	// Without espeak-ng's leading and trailing silence, so that the pauses
	// between utterances are the test's own.
	first, last := len(pcm), 0
	for i, v := range pcm {
		if v > 300 || v < -300 {
			first, last = min(first, i), i
		}
	}
	if first > last {
		t.Fatalf("espeak-ng said nothing for %q", text)
	}
	return pcm[first : last+1]
}

// handset is the phone's audio: a mouth that sends 20 ms packets all the
// time (the utterances it is given, else silence) and an ear that keeps
// the level of every packet heard.
type handset struct {
	t     *testing.T
	codec audio.Codec
	say   chan []int16
	said  chan time.Time // when each utterance has been sent whole
	keys  chan rune      // keys the agent pressed (RFC 4733)

	mu    sync.Mutex
	heard []heardFrame
	news  chan struct{} // a token after each frame heard
}

type heardFrame struct {
	at    time.Time
	level float64 // dBFS
}

func newHandset(t *testing.T, med *diago.DialogMedia) *handset {
	t.Helper()
	w, err := med.AudioWriter()
	if err != nil {
		t.Fatal(err)
	}
	var keys diago.DTMFReader
	rd, codec, rprops := ear(t, med, diago.WithAudioReaderDTMF(&keys)) // the phone sends in the codec it receives
	h := &handset{t: t, codec: codec, say: make(chan []int16, 4), said: make(chan time.Time, 4), news: make(chan struct{}, 1),
		keys: make(chan rune, 16)}
	keys.OnDTMF(func(k rune) error {
		select {
		case h.keys <- k:
		default:
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() { // the mouth, paced by diago's writer
		n := codec.SampleRate() / 50
		silence := make([]int16, n)
		var cur []int16
		var payload []byte
		for ctx.Err() == nil {
			frame := silence
			if len(cur) == 0 {
				select {
				case cur = <-h.say:
				default:
				}
			}
			if len(cur) > 0 {
				frame = make([]int16, n)
				k := copy(frame, cur)
				if cur = cur[k:]; len(cur) == 0 {
					h.said <- time.Now()
				}
			}
			payload = codec.Encode(frame, payload[:0])
			if _, err := w.Write(payload); err != nil {
				return
			}
		}
	})
	wg.Go(func() { // the ear
		buf := make([]byte, media.RTPBufSize)
		for ctx.Err() == nil {
			n, err := rd.Read(buf)
			if err != nil {
				return
			}
			if n == 0 || med.RTPPacketReader.PacketHeader.PayloadType != rprops.Codec.PayloadType {
				continue
			}
			level := audio.LevelDBFS(codec.Decode(buf[:n], nil))
			h.mu.Lock()
			h.heard = append(h.heard, heardFrame{time.Now(), level})
			h.mu.Unlock()
			select {
			case h.news <- struct{}{}:
			default:
			}
		}
	})
	return h
}

// speak says pcm and returns when it has been sent.
func (h *handset) speak(pcm []int16) time.Time {
	h.say <- pcm
	select {
	case at := <-h.said:
		return at
	case <-time.After(30 * time.Second):
		h.t.Fatal("the phone could not say its utterance")
		return time.Time{}
	}
}

// speakAsync starts saying pcm and returns when it started.
func (h *handset) speakAsync(pcm []int16) time.Time {
	h.say <- pcm
	return time.Now()
}

// frames returns what was heard since from.
func (h *handset) frames(from time.Time) []heardFrame {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []heardFrame
	for _, f := range h.heard {
		if !f.at.Before(from) {
			out = append(out, f)
		}
	}
	return out
}

// loudFor is how much loud audio was heard since from.
func (h *handset) loudFor(from time.Time) time.Duration {
	var d time.Duration
	for _, f := range h.frames(from) {
		if f.level > loud {
			d += audio.FrameDuration
		}
	}
	return d
}

// waitFor waits, frame by frame, until cond holds of what was heard since
// from, or fails t after timeout.
func (h *handset) waitFor(from time.Time, timeout time.Duration, what string, cond func([]heardFrame) bool) time.Time {
	h.t.Helper()
	deadline := time.After(timeout)
	for {
		if cond(h.frames(from)) {
			return time.Now()
		}
		select {
		case <-h.news:
		case <-deadline:
			h.t.Fatalf("the phone never heard %s", what)
		}
	}
}

// hearsSpeech waits until d of loud audio has been heard since from.
func (h *handset) hearsSpeech(from time.Time, d, timeout time.Duration) time.Time {
	h.t.Helper()
	return h.waitFor(from, timeout, "the agent speak", func(fs []heardFrame) bool { return loudIn(fs) >= d })
}

// quiet waits until the phone has heard quiet for d after loud audio heard
// since from, and returns when the loud audio ended.
func (h *handset) quietAfterSpeech(from time.Time, d, timeout time.Duration) time.Time {
	h.t.Helper()
	var end time.Time
	h.waitFor(from, timeout, "the agent stop", func(fs []heardFrame) bool {
		var last time.Time
		for _, f := range fs {
			if f.level > loud {
				last = f.at
			}
		}
		if last.IsZero() || len(fs) == 0 || fs[len(fs)-1].at.Sub(last) < d {
			return false
		}
		end = last
		return true
	})
	return end
}

func loudIn(fs []heardFrame) time.Duration {
	var d time.Duration
	for _, f := range fs {
		if f.level > loud {
			d += audio.FrameDuration
		}
	}
	return d
}

// nextTurn waits for the webhook's next voice turn.
func (c *convRig) nextTurn(t *testing.T) voiceTurn {
	t.Helper()
	select {
	case turn := <-c.hook.turns:
		return turn
	case <-time.After(20 * time.Second):
		t.Fatal("the webhook got no turn")
		return voiceTurn{}
	}
}

// transcript returns the call's turns as "role: text" lines.
func (r *rig) transcript(t *testing.T, id string) []*agentphone.Turn {
	t.Helper()
	turns, err := r.calls.Transcript(t.Context(), r.sc, id)
	if err != nil {
		t.Fatal(err)
	}
	return turns
}

// TestConversationTurn: the caller's utterance, detected in the RTP and
// transcribed by the double, reaches the webhook as a signed voice
// agent.message with the greeting in recentHistory; its NDJSON reply's
// interim line is heard while the receiver still holds the final line,
// then the final line is heard; the transcript holds greeting, caller and
// answer in order, the answer with its latency breakdown.
func TestConversationTurn(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		release := make(chan struct{})
		c := newConvRig(t, b, rigOptions{greeting: "Hello, Acme here."}, func(w http.ResponseWriter, turn voiceTurn) {
			ndjson(w, `{"text": "Let me check that for you.", "interim": true}`)
			<-release
			ndjson(w, `{"text": "Your order shipped yesterday."}`)
		}, "I need help with my order")
		_, med := c.call(t)
		start := time.Now() // the phone has the 200 OK
		h := newHandset(t, med)
		call := c.waitStatus(c.only().ID, agentphone.CallInProgress)
		h.hearsSpeech(start, 500*time.Millisecond, 10*time.Second) // the greeting
		greetingEnd := h.quietAfterSpeech(start, 400*time.Millisecond, 10*time.Second)
		var greetingAt time.Time
		for _, f := range h.frames(start) {
			if f.level > loud {
				greetingAt = f.at
				break
			}
		}

		said := h.speak(utterance(t, "I need help with my order"))
		turn := c.nextTurn(t)
		if turn.Event != "agent.message" || turn.Channel != "voice" || turn.Data.CallID != call.ID ||
			turn.Data.Transcript != "I need help with my order" || turn.Data.Direction != "inbound" || turn.Data.Confidence <= 0 {
			t.Fatalf("voice turn %+v", turn)
		}
		if len(turn.RecentHistory) != 1 || turn.RecentHistory[0].Content != "Hello, Acme here." || turn.RecentHistory[0].Direction != "outbound" {
			t.Fatalf("recentHistory %+v", turn.RecentHistory)
		}
		// The interim line is spoken while the final one is held back.
		interimAt := h.hearsSpeech(said, 600*time.Millisecond, 10*time.Second)
		interimEnd := h.quietAfterSpeech(said, 300*time.Millisecond, 10*time.Second)
		close(release)
		h.hearsSpeech(interimEnd.Add(100*time.Millisecond), 600*time.Millisecond, 10*time.Second)
		t.Logf("greeting heard %s after the answer, ended %s after it; caller's end of speech → 600 ms of the interim line heard: %s",
			greetingAt.Sub(start), greetingEnd.Sub(start), interimAt.Sub(said))

		if tr := c.stt.Transcriptions(); len(tr) != 1 {
			t.Fatalf("%d utterances sent to speech-to-text, want 1", len(tr))
		}
		turns := c.transcript(t, call.ID)
		got := []string{}
		for _, tn := range turns {
			got = append(got, tn.Role+": "+tn.Text)
		}
		for len(got) < 3 { // the answer's turn is stored once spoken
			h.waitFor(time.Now(), 10*time.Second, "the answer end", func(fs []heardFrame) bool { return len(fs) > 25 })
			turns = c.transcript(t, call.ID)
			got = got[:0]
			for _, tn := range turns {
				got = append(got, tn.Role+": "+tn.Text)
			}
		}
		want := []string{"agent: Hello, Acme here.", "user: I need help with my order",
			"agent: Let me check that for you. Your order shipped yesterday."}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("transcript:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		l := turns[2].Latency
		if l == nil || l.TotalMs == nil || *l.TotalMs <= 0 || l.DecisionToFirstByteMs == nil || l.FirstAudioToFirstPacketMs == nil {
			t.Fatalf("latency of the answer: %+v", l)
		}
		if turns[1].Confidence == nil || turns[2].Interrupted {
			t.Fatalf("turns %+v %+v", turns[1], turns[2])
		}
	})
}

// TestConversationBargeIn: the caller speaks over a long answer; the
// agent stops within a moment of the caller's first words (the default
// sensitivity, 0.8, takes 240 ms of voice), the stored agent turn is what
// was played, marked interrupted, and the caller's words make the next
// turn.
func TestConversationBargeIn(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		long := "Our store opens at nine in the morning on weekdays. On Saturdays we open at ten. " +
			"On Sundays we are closed, except in December, when we open at noon. " +
			"Parking is free for the first two hours. We also deliver to most of the city."
		c := newConvRig(t, b, rigOptions{greeting: "Hi.", agent: func(a *agentphone.Agent) { a.InterruptionSensitivity = 0.8 }},
			func(w http.ResponseWriter, turn voiceTurn) {
				if turn.Data.Transcript == "When are you open" {
					ndjson(w, `{"text": "`+long+`"}`)
					return
				}
				ndjson(w, `{"text": "Sure."}`)
			}, "When are you open", "Wait, what about Sunday")
		_, med := c.call(t)
		h := newHandset(t, med)
		call := c.waitStatus(c.only().ID, agentphone.CallInProgress)
		start := time.Now()
		h.quietAfterSpeech(start, 400*time.Millisecond, 10*time.Second) // the greeting
		said := h.speak(utterance(t, "When are you open"))
		c.nextTurn(t)
		answerAt := h.hearsSpeech(said, 1500*time.Millisecond, 15*time.Second)

		bargeAt := h.speakAsync(utterance(t, "Wait, what about Sunday"))
		stopped := h.quietAfterSpeech(bargeAt, 400*time.Millisecond, 10*time.Second)
		cut := stopped.Sub(bargeAt)
		t.Logf("the agent spoke %s of its answer, and stopped %s after the caller began", bargeAt.Sub(answerAt), cut)
		if cut > 1500*time.Millisecond {
			t.Fatalf("the agent went on for %s after the caller began speaking", cut)
		}
		if turn := c.nextTurn(t); turn.Data.Transcript != "Wait, what about Sunday" {
			t.Fatalf("the barge-in's turn: %+v", turn)
		}
		var answer *agentphone.Turn
		for _, tn := range c.transcript(t, call.ID) {
			if tn.Role == agentphone.RoleAgent && tn.Interrupted {
				answer = tn
			}
		}
		if answer == nil {
			t.Fatal("no interrupted agent turn in the transcript")
		}
		if len(answer.Text) == 0 || len(answer.Text) >= len(long) || !strings.HasPrefix(long, strings.TrimSuffix(answer.Text, "…")[:10]) {
			t.Fatalf("interrupted turn %q: want a beginning of %q", answer.Text, long)
		}
	})
}

// TestConversationHangupAndSay: a turn injected as text (the sandbox's
// say) reaches the webhook like speech; its reply's hangup ends the call
// after the goodbye is heard, as agent-hangup.
func TestConversationHangupAndSay(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		c := newConvRig(t, b, rigOptions{greeting: "Hi."}, func(w http.ResponseWriter, turn voiceTurn) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"text": "Goodbye, have a nice day!", "hangup": true}`)
		})
		dialog, med := c.call(t)
		h := newHandset(t, med)
		call := c.waitStatus(c.only().ID, agentphone.CallInProgress)
		start := time.Now()
		h.quietAfterSpeech(start, 300*time.Millisecond, 10*time.Second)
		if err := c.conv.Say(t.Context(), call.ID, "that's all, bye"); err != nil {
			t.Fatal(err)
		}
		if turn := c.nextTurn(t); turn.Data.Transcript != "that's all, bye" {
			t.Fatalf("turn %+v", turn)
		}
		ended(t, dialog.Context(), "the caller") // the agent's BYE
		if loud := h.loudFor(start); loud < time.Second {
			t.Fatalf("heard %s of the greeting and the goodbye", loud)
		}
		got := c.waitEnd(call.ID)
		if got.EndReason == nil || *got.EndReason != agentphone.EndAgentHangup {
			t.Fatalf("ended call %+v", got)
		}
		if err := c.conv.Say(t.Context(), call.ID, "hello?"); err == nil {
			t.Fatal("say on an ended call: no error")
		}
	})
}

// TestConversationTransfer: a reply with "action": "transfer" speaks its
// text, then transfers the caller to the agent's transferNumber (bridged:
// the test phone refuses REFER): the target's phone rings from the
// agent's number, and the call ends as transfer.
func TestConversationTransfer(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b storetest.Backend) {
		port, calls, invites := targetPhone(t, false)
		target := transferTarget
		c := newConvRig(t, b, rigOptions{greeting: "Hi.", trunks: []sip.Trunk{carrier(port)},
			agent: func(a *agentphone.Agent) { a.TransferNumber = &target }},
			func(w http.ResponseWriter, turn voiceTurn) {
				ndjson(w, `{"text": "Connecting you now.", "action": "transfer"}`)
			})
		dialog, med := c.call(t)
		h := newHandset(t, med)
		call := c.waitStatus(c.only().ID, agentphone.CallInProgress)
		start := time.Now()
		h.quietAfterSpeech(start, 300*time.Millisecond, 10*time.Second)
		if err := c.conv.Say(t.Context(), call.ID, "a human please"); err != nil {
			t.Fatal(err)
		}
		if from := <-invites; from != c.number.PhoneNumber {
			t.Fatalf("the target's INVITE came from %q, want the agent's number", from)
		}
		a := <-calls
		if h.loudFor(start) < 800*time.Millisecond {
			t.Fatalf("the caller heard %s: not the greeting and the transfer line", h.loudFor(start))
		}
		if err := a.d.Hangup(t.Context()); err != nil {
			t.Fatal(err)
		}
		ended(t, dialog.Context(), "the caller")
		got := c.waitEnd(call.ID)
		if got.EndReason == nil || *got.EndReason != agentphone.EndTransfer {
			t.Fatalf("ended call %+v", got)
		}
	})
}

// TestConversationBackchannelAndAmbience: with enableBackchannel, an agent
// says a short acknowledgement in a pause of a long caller turn (words
// that sound unfinished hold the turn open); without, it stays silent
// until the turn ends. With an ambient sound the line carries a quiet bed
// (about -40 dBFS) between words; without, digital silence.
func TestConversationBackchannelAndAmbience(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{true, false} {
		t.Run(map[bool]string{true: "on", false: "off"}[on], func(t *testing.T) {
			t.Parallel()
			b := storetest.Backends(t)[0]
			c := newConvRig(t, b, rigOptions{greeting: "Hi.", agent: func(a *agentphone.Agent) {
				a.EnableBackchannel = on
				a.AmbientSound = map[bool]string{true: "office", false: "none"}[on]
			}}, func(w http.ResponseWriter, turn voiceTurn) {
				ndjson(w, `{"text": "I see."}`)
			}, "so I bought a phone last week and", "the screen cracked on the first day and", "now it will not turn on at all and",
				"I would like a refund")
			_, med := c.call(t)
			h := newHandset(t, med)
			c.waitStatus(c.only().ID, agentphone.CallInProgress)
			start := time.Now()
			h.quietAfterSpeech(start, 300*time.Millisecond, 10*time.Second)

			// The bed: quiet frames between the greeting and the caller.
			bed := h.frames(time.Now().Add(-200 * time.Millisecond))
			var bedLevel float64
			for _, f := range bed {
				bedLevel += f.level / float64(len(bed))
			}
			if on && (bedLevel < -60 || bedLevel > -30) || !on && bedLevel > -70 {
				t.Fatalf("line level between words %.1f dBFS with ambientSound %v", bedLevel, on)
			}

			gap := make([]int16, 8000*500/1000) // 500 ms pauses
			var turn []int16
			for _, s := range []string{"so I bought a phone last week and", "the screen cracked on the first day and",
				"now it will not turn on at all and", "I would like a refund"} {
				turn = append(append(turn, utterance(t, s)...), gap...)
			}
			from := time.Now()
			h.speak(turn[:len(turn)-len(gap)])
			if tr := c.nextTurn(t); !strings.Contains(tr.Data.Transcript, "refund") {
				t.Fatalf("the long turn reached the webhook as %q", tr.Data.Transcript)
			}
			during := h.loudFor(from) // before the answer can have been heard
			t.Logf("backchannel %v: the agent was heard for %s during the caller's turn", on, during)
			if on && during < 200*time.Millisecond || !on && during > 0 {
				t.Fatalf("backchannel %v: heard the agent for %s during the caller's turn", on, during)
			}
		})
	}
}

// TestConversationStreamingRecognition: with Deepgram's live stream (its
// fake speaking the documented protocol), every frame of the caller goes
// to the stream at the call's rate; the stream's final result, with its
// confidence, makes the caller's turn; the stream is closed with the call.
func TestConversationStreamingRecognition(t *testing.T) {
	t.Parallel()
	c, dg := newDeepgramRig(t, deepgramtest.Utterance{Text: "I would like to book a table", At: 2 * time.Second,
		Speech: time.Second, Confidence: 0.91})
	dialog, med := c.call(t)
	newHandset(t, med)
	call := c.waitStatus(c.only().ID, agentphone.CallInProgress)
	turn := c.nextTurn(t)
	if turn.Data.Transcript != "I would like to book a table" || turn.Data.Confidence != 0.91 {
		t.Fatalf("turn %+v", turn)
	}
	sess, err := dg.WaitSession(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if q := dg.Requests()[0].Query; q.Get("sample_rate") != "8000" || q.Get("encoding") != "linear16" || q.Get("language") != "en-US" {
		t.Fatalf("listen query %v", q)
	}
	if err := dialog.Hangup(t.Context()); err != nil {
		t.Fatal(err)
	}
	c.waitEnd(call.ID)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := sess.Wait(ctx, func(s deepgramtest.SessionState) bool { return s.Ended }); err != nil {
		t.Fatalf("the recognition stream did not end with the call: %+v", sess.State())
	}
}

// newDeepgramRig is a conversation rig (one backend) that recognises
// speech through the Deepgram double, which says utterances.
func newDeepgramRig(t *testing.T, utterances ...deepgramtest.Utterance) (*convRig, *deepgramtest.Server) {
	t.Helper()
	dg := deepgramtest.NewServer()
	t.Cleanup(dg.Close)
	dg.SetListen(deepgramtest.Listen{Utterances: utterances})
	c := newConvRig(t, storetest.Backends(t)[0], rigOptions{greeting: "Hi."}, func(w http.ResponseWriter, turn voiceTurn) {
		ndjson(w, `{"text": "For how many?"}`)
	})
	c.conv.ListenFile = nil
	c.conv.Listen = &deepgram.Transcriber{APIKey: dg.APIKey, BaseURL: dg.URL}
	return c, dg
}

// TestConversationFinalize: with a streaming recogniser that holds its
// words until asked (no endpointing of its own), the engine asks for them
// (Deepgram's Finalize) once its own end-of-turn wait has passed, and the
// turn goes on.
func TestConversationFinalize(t *testing.T) {
	t.Parallel()
	c, dg := newDeepgramRig(t, deepgramtest.Utterance{Text: "I would like to book a table", Speech: time.Second})
	_, med := c.call(t)
	h := newHandset(t, med)
	c.waitStatus(c.only().ID, agentphone.CallInProgress)
	h.quietAfterSpeech(time.Now().Add(-5*time.Second), 300*time.Millisecond, 10*time.Second) // the greeting
	said := h.speak(utterance(t, "I would like to book a table"))
	turn := c.nextTurn(t)
	if turn.Data.Transcript != "I would like to book a table" {
		t.Fatalf("turn %+v", turn)
	}
	t.Logf("the turn reached the webhook %s after the caller's utterance was sent", time.Since(said))
	if n := dg.Sessions()[0].State().Finalizes; n != 1 {
		t.Fatalf("%d Finalize messages, want 1", n)
	}
}

// TestConversationRealtimeRecognition: OpenAI's Realtime transcription as
// the call's recognition stream: the engine asks for the words when the
// caller stops (a commit of the audio buffer) and the turn goes on.
func TestConversationRealtimeRecognition(t *testing.T) {
	t.Parallel()
	c := newConvRig(t, storetest.Backends(t)[0], rigOptions{greeting: "Hi."}, func(w http.ResponseWriter, turn voiceTurn) {
		ndjson(w, `{"text": "For how many?"}`)
	})
	c.stt.ScriptRealtime(openaitest.RealtimeUtterance{Text: "I would like to book a table", OnCommit: true})
	rt, err := openai.NewRealtimeTranscriber(openai.Config{BaseURL: c.stt.BaseURL()}, openai.RealtimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.conv.ListenFile, c.conv.Listen = nil, rt
	_, med := c.call(t)
	h := newHandset(t, med)
	c.waitStatus(c.only().ID, agentphone.CallInProgress)
	h.quietAfterSpeech(time.Now().Add(-5*time.Second), 300*time.Millisecond, 10*time.Second) // the greeting
	said := h.speak(utterance(t, "I would like to book a table"))
	if turn := c.nextTurn(t); turn.Data.Transcript != "I would like to book a table" {
		t.Fatalf("turn %+v", turn)
	}
	t.Logf("the turn reached the webhook %s after the caller's utterance was sent", time.Since(said))
	s := c.stt.RealtimeSessions()[0]
	if s.Commits < 1 || s.Format != "pcm16" || s.Audio() < time.Second {
		t.Fatalf("the Realtime session: %d commits, format %q, %s of audio", s.Commits, s.Format, s.Audio())
	}
}
