// Command conversation is the load benchmark of the conversation engine
// (scripts/bench-conversation): it runs -calls conversations at once in
// this process, each a voice.Conversation on a call whose media is driven
// by one 20 ms clock, the way the SIP edge's media clock drives real
// calls, with zero-latency doubles of the providers: speech recognition
// answers at once, the responder (the webhook's place) answers at once,
// speech synthesis returns its audio at once. What is left is the engine.
//
// Each caller talks in a loop: 1.2 s of voice (a harmonic, syllable-
// modulated signal at about -20 dBFS), then 1.5 s of silence. The engine
// ends the turn after its end-of-turn wait, answers with about 2.6 s of
// speech, and the caller's next words come about 1 s into that answer:
// every answer after the first is barged in on.
//
// It reports, over the run after a warm-up:
//
//   - engine: end-of-turn decision → the answer's first frame handed to
//     the call's sink (the engine's own "engine" latency stage), p50/p99;
//   - pickup: how long an answer's first frame, handed to the sink,
//     waits for the clock's tick that sends it (0–20 ms), p50/p99:
//     engine + pickup is the time to the first packet on the wire;
//   - barge-in stop: barge-in decision → the agent's last frame sent,
//     p50/p99;
//   - under-runs: ticks with no agent frame in the middle of an answer
//     (speech on both sides of a gap of ≤ 5 ticks), which the caller would
//     hear as a stutter;
//   - CPU used by the process.
//
// With -hosted the agents are in hosted mode: the responder is the
// built-in LLM's (hosted.Responder) through the real OpenAI chat adapter,
// talking over loopback HTTP to the protocol double (openaitest), which
// streams the same answer at once, word by word. It then also reports
// clause → first frame: from the model's first streamed text to the
// answer's first frame handed to the sink (the turn's first_audio and
// first_packet latency stages), the engine's overhead on a streamed
// answer; the tick's pickup comes on top, as above.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/audio"
	"github.com/agentphone/agentphone/hosted"
	"github.com/agentphone/agentphone/openai"
	"github.com/agentphone/agentphone/openai/openaitest"
	"github.com/agentphone/agentphone/voice"
)

func main() {
	calls := flag.Int("calls", 200, "conversations at once")
	dur := flag.Duration("duration", 60*time.Second, "how long they run")
	warm := flag.Duration("warmup", 5*time.Second, "time not measured at the start")
	hostedMode := flag.Bool("hosted", false, "hosted agents: the LLM responder over HTTP to an OpenAI-protocol double")
	flag.Parse()
	if err := run(*calls, *dur, *warm, *hostedMode); err != nil {
		fmt.Fprintln(os.Stderr, "conversation:", err)
		os.Exit(1)
	}
}

const rate = 8000

// rig is the clock and the calls it drives.
type rig struct {
	mu      sync.Mutex
	calls   []*call
	engine  []time.Duration
	pickup  []time.Duration
	clause  []time.Duration // hosted: the model's first text → first frame to the sink
	model   []time.Duration // hosted: end of turn → the model's first text
	measure bool
	hosted  bool
}

// call is one conversation's media and records.
type call struct {
	r      *rig
	id     string
	in     chan audio.Frame // the caller's frames, for the engine
	out    chan sent        // the agent's frames, for the clock
	script []int16          // the caller's loop
	pos    int
	// prevVoiced: the last tick carried agent sound (the clock's own).
	prevVoiced bool

	mu        sync.Mutex
	barges    []time.Time // barge-in decisions
	lastVoice time.Time   // last agent frame with sound
	ticks     []bool      // per tick since the warm-up: agent sound?
}

type sent struct {
	f  audio.Frame
	at time.Time
}

func run(n int, dur, warm time.Duration, hostedMode bool) error {
	r := &rig{hosted: hostedMode}
	conv := &voice.Conversation{
		Speech:     toneSpeech{},
		ListenFile: instantSTT{},
		Respond:    instantAnswer{},
		Observe: func(stage string, d time.Duration) {
			if stage != "engine" {
				return
			}
			r.mu.Lock()
			if r.measure {
				r.engine = append(r.engine, d)
			}
			r.mu.Unlock()
		},
	}
	if hostedMode {
		fake := openaitest.NewServer()
		defer fake.Close()
		fake.SetChat(func(openaitest.ChatRequest) openaitest.ChatReply { return openaitest.ChatReply{Text: answerText} })
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = n
		chat, err := openai.NewChat(openai.Config{BaseURL: fake.BaseURL(), HTTPClient: &http.Client{Transport: tr}})
		if err != nil {
			return err
		}
		conv.Respond = &hosted.Responder{LLM: chat, Models: map[string]string{"balanced": "bench"}}
	}
	script := callerScript()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for i := range n {
		c := &call{r: r, id: fmt.Sprintf("call_%d", i), in: make(chan audio.Frame, 50), out: make(chan sent, 1), script: script,
			pos: (i * 37 * 160) % len(script)} // calls out of step, as real ones are
		r.calls = append(r.calls, c)
		sess := &voice.Session{
			Call:  &agentphone.Call{ID: c.id, AccountID: "acct", Direction: agentphone.DirectionInbound},
			Agent: agent(hostedMode), Rate: rate, Calls: c, Log: slog.New(slog.DiscardHandler),
			Caller: audio.SourceFunc(func(ctx context.Context) (audio.Frame, error) {
				select {
				case f := <-c.in:
					return f, nil
				case <-ctx.Done():
					return audio.Frame{}, io.EOF
				}
			}),
			Out: audio.SinkFunc(func(ctx context.Context, f audio.Frame) error {
				select {
				case c.out <- sent{f, time.Now()}:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}),
		}
		wg.Go(func() { conv.Run(ctx, sess) })
	}
	start := time.Now()
	var cpu0 syscall.Rusage
	next := start
	for tick := 0; ; tick++ {
		next = next.Add(audio.FrameDuration)
		time.Sleep(time.Until(next))
		now := time.Now()
		if now.Sub(start) >= warm && !r.measure {
			r.mu.Lock()
			r.measure = true
			r.mu.Unlock()
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &cpu0)
		}
		if now.Sub(start) >= warm+dur {
			break
		}
		for _, c := range r.calls {
			r.tick(c, now)
		}
	}
	var cpu1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &cpu1)
	cancel()
	wg.Wait()
	return r.report(n, dur, warm, cpuSeconds(cpu1)-cpuSeconds(cpu0))
}

// tick sends call c's caller frame and takes its agent frame.
func (r *rig) tick(c *call, now time.Time) {
	f := make([]int16, 160)
	copy(f, c.script[c.pos:])
	c.pos = (c.pos + 160) % len(c.script)
	select {
	case c.in <- audio.Frame{Samples: f, Rate: rate}:
	default: // the engine is behind: the edge drops the oldest frame too
	}
	voiced := false
	select {
	case s := <-c.out:
		voiced = audio.LevelDBFS(s.f.Samples) > -60
		if r.measure && voiced && !c.prevVoiced { // an answer's first frame
			r.mu.Lock()
			r.pickup = append(r.pickup, now.Sub(s.at))
			r.mu.Unlock()
		}
	default:
	}
	c.prevVoiced = voiced
	c.mu.Lock()
	if voiced {
		c.lastVoice = now
	}
	if r.measure {
		c.ticks = append(c.ticks, voiced)
	}
	c.mu.Unlock()
}

func (r *rig) report(n int, dur, warm time.Duration, cpu float64) error {
	var stops []time.Duration
	underruns, answers := 0, 0
	for _, c := range r.calls {
		c.mu.Lock()
		stops = append(stops, c.stops()...)
		u, a := gaps(c.ticks)
		underruns += u
		answers += a
		c.mu.Unlock()
	}
	fmt.Printf("conversations: %d for %s (after %s of warm-up), zero-latency provider doubles\n", n, dur, warm)
	fmt.Printf("answers: %d  barge-ins: %d  under-runs: %d (in %d stretches of agent speech)\n", len(r.engine), len(stops), underruns, answers)
	fmt.Printf("engine (end of turn → first frame to the sink): p50 %s  p99 %s  max %s\n", q(r.engine, 0.5), q(r.engine, 0.99), q(r.engine, 1))
	if len(r.clause) > 0 {
		fmt.Printf("model (end of turn → the LLM's first text):     p50 %s  p99 %s  max %s\n", q(r.model, 0.5), q(r.model, 0.99), q(r.model, 1))
		fmt.Printf("clause (LLM's first text → first frame):       p50 %s  p99 %s  max %s\n", q(r.clause, 0.5), q(r.clause, 0.99), q(r.clause, 1))
	}
	fmt.Printf("pickup (frame waits for the clock's tick):    p50 %s  p99 %s\n", q(r.pickup, 0.5), q(r.pickup, 0.99))
	fmt.Printf("barge-in stop (decision → last frame sent):   p50 %s  p99 %s  max %s\n", q(stops, 0.5), q(stops, 0.99), q(stops, 1))
	fmt.Printf("CPU: %.0f %% of one core (%.2f s over %s)\n", 100*cpu/dur.Seconds(), cpu, dur)
	return nil
}

// stops is, for each barge-in, how long the agent's sound went on after
// it (0 when it stopped at once), measured on the clock's ticks.
func (c *call) stops() []time.Duration {
	var out []time.Duration
	for _, b := range c.barges {
		// lastVoice only moves forward; the answer that follows a
		// barge-in starts after the caller's next turn, seconds later.
		if c.lastVoice.After(b) && c.lastVoice.Sub(b) < time.Second {
			out = append(out, c.lastVoice.Sub(b))
		} else {
			out = append(out, 0)
		}
	}
	return out
}

// gaps counts runs of 1–5 silent ticks with agent sound on both sides
// (under-runs), and answers (runs of sound).
func gaps(ticks []bool) (underruns, answers int) {
	for i := 0; i < len(ticks); i++ {
		if !ticks[i] {
			continue
		}
		answers++
		j := i
		for j < len(ticks) && ticks[j] {
			j++
		}
		k := j
		for k < len(ticks) && !ticks[k] {
			k++
		}
		if k < len(ticks) && k-j <= 5 {
			underruns++
		}
		i = j
	}
	return underruns, answers
}

// AddTurn implements voice.Recorder; it keeps the hosted answers' stages.
func (c *call) AddTurn(_ context.Context, t *agentphone.Turn) error {
	l := t.Latency
	if l == nil || l.FirstByteToFirstAudioMs == nil || l.FirstAudioToFirstPacketMs == nil || l.DecisionToFirstByteMs == nil {
		return nil
	}
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	c.r.mu.Lock()
	if c.r.measure && c.r.hosted {
		c.r.clause = append(c.r.clause, ms(*l.FirstByteToFirstAudioMs+*l.FirstAudioToFirstPacketMs))
		c.r.model = append(c.r.model, ms(*l.DecisionToFirstByteMs))
	}
	c.r.mu.Unlock()
	return nil
}

// AddEvent implements voice.Recorder; it keeps the times of barge-ins.
func (c *call) AddEvent(_ context.Context, _, typ string, data any) error {
	if m, ok := data.(map[string]any); ok && typ == "barge_in" {
		if at, ok := m["at"].(time.Time); ok {
			c.mu.Lock()
			c.barges = append(c.barges, at)
			c.mu.Unlock()
		}
	}
	return nil
}

func q(ds []time.Duration, p float64) string {
	if len(ds) == 0 {
		return "-"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := min(int(math.Ceil(p*float64(len(s))))-1, len(s)-1)
	return s[max(i, 0)].Round(10 * time.Microsecond).String()
}

func cpuSeconds(r syscall.Rusage) float64 {
	return float64(r.Utime.Sec+r.Stime.Sec) + float64(r.Utime.Usec+r.Stime.Usec)/1e6
}

func agent(hostedMode bool) *agentphone.Agent {
	greeting := "Hello."
	a := &agentphone.Agent{ID: "agt_bench", Name: "Bench", Voice: "bench", BeginMessage: &greeting, STTMode: "fast", AmbientSound: "none",
		DenoisingMode: "noise-cancellation", MaxSilenceMs: 600000, VoiceSpeed: 1, InterruptionSensitivity: 0.8, Language: "en-US",
		VoiceMode: agentphone.VoiceModeWebhook, ModelTier: agentphone.DefaultModelTier}
	if hostedMode {
		prompt := "You tell callers when the shop opens."
		a.VoiceMode, a.SystemPrompt = agentphone.VoiceModeHosted, &prompt
	}
	return a
}

// answerText is every answer: about 2.6 s of speech.
const answerText = "We open at nine tomorrow morning. The shop on the corner opens a little later, at ten, " +
	"and stays open until six in the evening every day except Sunday."

// callerScript is 1.2 s of voice then 1.5 s of silence.
func callerScript() []int16 {
	voiced, quiet := rate*12/10, rate*15/10
	s := make([]int16, voiced+quiet)
	for i := range voiced {
		t := float64(i) / rate
		env := 0.6 + 0.4*math.Sin(2*math.Pi*4*t) // syllables
		v := 0.0
		for h := 1; h <= 5; h++ {
			v += math.Sin(2*math.Pi*140*float64(h)*t) / float64(h)
		}
		s[i] = int16(3000 * env * v)
	}
	return s
}

// toneSpeech speaks any text at once: 80 ms of tone per word.
type toneSpeech struct{}

func (toneSpeech) Stream(_ context.Context, req voice.SpeechRequest, emit func(audio.Frame) error) error {
	n := len(strings.Fields(req.Text)) * req.Rate * 8 / 100
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(6000 * math.Sin(2*math.Pi*300*float64(i)/float64(req.Rate)))
	}
	return emit(audio.Frame{Samples: pcm, Rate: req.Rate})
}

// instantSTT hears the same words in every utterance, at once.
type instantSTT struct{}

func (instantSTT) TranscribeFile(context.Context, audio.Frame, voice.TranscribeOptions) (voice.Transcript, error) {
	return voice.Transcript{Text: "What time do you open tomorrow", Final: true, Confidence: 0.9}, nil
}

// instantAnswer answers every turn at once with about 2.6 s of speech.
type instantAnswer struct{}

func (instantAnswer) Respond(context.Context, voice.TurnRequest) (voice.ReplyStream, error) {
	return &oneReply{text: answerText}, nil
}

type oneReply struct {
	text string
	done bool
}

func (r *oneReply) Next() (voice.Reply, error) {
	if r.done {
		return voice.Reply{}, io.EOF
	}
	r.done = true
	return voice.Reply{Text: r.text, FirstByte: time.Now()}, nil
}

func (r *oneReply) Close() error { return nil }
