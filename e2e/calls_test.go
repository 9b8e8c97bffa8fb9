//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/agentphone/agentphone/audio"
	"github.com/agentphone/agentphone/espeak"
	"github.com/agentphone/agentphone/openai/openaitest"
)

// freeSIPPort returns a loopback port free for both UDP and TCP.
func freeSIPPort(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// TestCall runs the real binary with SIP on, speech recognition through a
// server of OpenAI's transcription API (openaitest: the words are
// scripted, the audio and its detection are real) and calls one of its
// numbers from a diago user agent: the greeting is heard; what the caller
// then says, and a line given with the sandbox's say, reach the webhook
// as voice agent.message turns; the live transcript stream replays the
// turns and ends with the call; the caller's hang-up ends the call;
// agent.call_ended arrives signed with the transcript; the public
// recording is a two-channel WAV.
func TestCall(t *testing.T) {
	forEachBackend(t, func(t *testing.T, databaseURL string) {
		ctx := t.Context()
		sipPort := freeSIPPort(t)
		stt := openaitest.NewServer()
		defer stt.Close()
		stt.Script("I need help with my order")
		srv := startServer(t, databaseURL, "--sip-addr", "127.0.0.1:"+strconv.Itoa(sipPort),
			"--recordings-dir", t.TempDir(), "--stt-base-url", stt.BaseURL())
		call := func(method, path, body string, want int) map[string]any {
			t.Helper()
			return srv.api(t, method, path, body, want)
		}
		rc := newHookReceiver(t)
		hook := call("POST", "/v1/webhooks", fmt.Sprintf(`{"url": %q}`, rc.URL), 200)
		rc.mu.Lock()
		rc.secret = hook["secret"].(string)
		rc.mu.Unlock()
		greeting := "Hello, thanks for calling Acme."
		agent := call("POST", "/v1/agents", fmt.Sprintf(`{"name": "Support", "beginMessage": %q}`, greeting), 200)["id"].(string)
		phone := call("POST", "/v1/numbers", fmt.Sprintf(`{"agentId": %q}`, agent), 200)["phoneNumber"].(string)

		dialog, med := dialSIP(t, sipPort, phone)
		list := call("GET", "/v1/calls", "", 200)
		items, _ := list["data"].([]any)
		if len(items) != 1 {
			t.Fatalf("calls: %v", list)
		}
		id := items[0].(map[string]any)["id"].(string)

		// Hear the greeting.
		var props diago.MediaProps
		r, err := med.AudioReader(diago.WithAudioReaderMediaProps(&props))
		if err != nil {
			t.Fatal(err)
		}
		codec, err := audio.CodecForPayloadType(props.Codec.PayloadType)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1500)
		var loud, quiet time.Duration
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && (loud == 0 || quiet < 600*time.Millisecond); {
			n, err := r.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			pcm := codec.Decode(buf[:n], nil)
			d := time.Duration(len(pcm)) * time.Second / time.Duration(codec.SampleRate())
			if audio.LevelDBFS(pcm) > -40 {
				loud, quiet = loud+d, 0
			} else if loud > 0 {
				quiet += d
			}
		}
		if loud < time.Second {
			t.Fatalf("heard %s of greeting", loud)
		}

		// The caller speaks; the turn reaches the webhook.
		speech, err := (&espeak.Synthesizer{}).Synthesize(ctx, "I need help with my order", "espeak-brian", 1, "en-US")
		if err != nil {
			t.Fatal(err)
		}
		rs, err := audio.NewResampler(speech.Rate, codec.SampleRate())
		if err != nil {
			t.Fatal(err)
		}
		pcm := append(rs.Resample(speech.Samples), make([]int16, codec.SampleRate())...) // then 1 s of silence
		aw, err := med.AudioWriter()
		if err != nil {
			t.Fatal(err)
		}
		n := codec.SampleRate() / 50
		for i := 0; i+n <= len(pcm); i += n {
			if _, err := aw.Write(codec.Encode(pcm[i:i+n], nil)); err != nil { // paced by diago: 20 ms each
				t.Fatal(err)
			}
		}
		voiceTurn := func(want string) {
			t.Helper()
			env := rc.next(t, 15*time.Second)
			data, _ := env["data"].(map[string]any)
			if env["event"] != "agent.message" || env["channel"] != "voice" || data["callId"] != id || data["transcript"] != want {
				t.Fatalf("voice turn %v, want the transcript %q", env, want)
			}
		}
		voiceTurn("I need help with my order")
		// A line given as text, as if the caller said it.
		if code, out := srv.post(t, "/sandbox/v1/calls/"+id+"/say", srv.Key, `{"text": "And my refund?"}`); code != 202 {
			t.Fatalf("say: %d %s", code, out)
		}
		voiceTurn("And my refund?")

		// The live transcript: the greeting replayed, then ended after the hang-up.
		next, closed := transcriptStream(t, srv, id)
		for _, want := range []string{greeting, "I need help with my order", "And my refund?"} {
			if e := next(); e[0] != "turn" || !strings.Contains(e[1], want) {
				t.Fatalf("event %v, want the turn %q", e, want)
			}
		}
		if err := dialog.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		if e := next(); e[0] != "ended" || !strings.Contains(e[1], `"status":"completed"`) {
			t.Fatalf("event after the hang-up %v, want ended", e)
		}
		if !closed() {
			t.Fatal("transcript stream not closed after ended")
		}

		// agent.call_ended, signed, with the transcript.
		env := rc.next(t, 10*time.Second)
		data, _ := env["data"].(map[string]any)
		transcript, _ := data["transcript"].([]any)
		if env["event"] != "agent.call_ended" || env["channel"] != "voice" || data["callId"] != id ||
			data["direction"] != "inbound" || data["status"] != "completed" || data["disconnectionReason"] != "caller-hangup" ||
			len(transcript) != 3 || transcript[0].(map[string]any)["content"] != greeting ||
			transcript[1].(map[string]any)["content"] != "I need help with my order" {
			t.Fatalf("agent.call_ended envelope %v", env)
		}

		// The recording, public.
		c := call("GET", "/v1/calls/"+id, "", 200)
		u, _ := c["recordingUrl"].(string)
		if c["recordingAvailable"] != true || !strings.HasSuffix(u, "/v1/calls/"+id+"/recording") {
			t.Fatalf("call after the end: %v", c)
		}
		rresp, err := http.Get(srv.URL + "/v1/calls/" + id + "/recording") // no API key
		if err != nil {
			t.Fatal(err)
		}
		defer rresp.Body.Close()
		b, _ := io.ReadAll(rresp.Body)
		w, err := audio.ReadWAV(strings.NewReader(string(b)))
		if rresp.StatusCode != 200 || rresp.Header.Get("Content-Type") != "audio/wav" || err != nil || w.Channels != 2 ||
			w.Duration() < 2*time.Second {
			t.Fatalf("recording: %d %s, %v, %+v", rresp.StatusCode, rresp.Header.Get("Content-Type"), err, w)
		}
	})
}

// api makes an API request with s's key, fails t unless its status is
// want, and returns its JSON object.
func (s *server) api(t *testing.T, method, path, body string, want int) map[string]any {
	t.Helper()
	var code int
	var out string
	switch method {
	case http.MethodGet:
		code, out = s.get(t, path, s.Key)
	case http.MethodPost:
		code, out = s.post(t, path, s.Key, body)
	default:
		req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+s.Key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		code, out = resp.StatusCode, string(b)
	}
	if code != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, code, out, want)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%s %s: %v in %s", method, path, err, out)
	}
	return v
}

// dialSIP calls phone at the server's SIP port from a diago user agent
// over TCP, and fails t unless the call is answered.
func dialSIP(t *testing.T, sipPort int, phone string) (*diago.DialogClientSession, *diago.DialogMedia) {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("caller"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	dg := diago.NewDiago(ua, diago.WithTransport(diago.Transport{Transport: "tcp", BindHost: "127.0.0.1", BindPort: 0}))
	sctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := dg.ServeBackground(sctx, func(d *diago.DialogServerSession) {}); err != nil {
		t.Fatal(err)
	}
	dialog, med, err := dg.Invite(t.Context(), sipmsg.Uri{Scheme: "sip", User: phone, Host: "127.0.0.1", Port: sipPort},
		diago.InviteOptions{Transport: "tcp"})
	if err != nil {
		t.Fatalf("INVITE: %v", err)
	}
	t.Cleanup(func() { dialog.Close() })
	return dialog, med
}

// transcriptStream opens call id's live transcript (server-sent events):
// next returns the next event as {event, data}, failing t after 15 s or
// when the stream closes; closed reports whether the stream ends there.
func transcriptStream(t *testing.T, srv *server, id string) (next func() [2]string, closed func() bool) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/v1/calls/"+id+"/transcript/stream", nil)
	req.Header.Set("Authorization", "Bearer "+srv.Key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("transcript stream: %+v, %v", resp, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	events := make(chan [2]string, 8)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		var ev string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				events <- [2]string{ev, strings.TrimPrefix(line, "data: ")}
			}
		}
	}()
	next = func() [2]string {
		t.Helper()
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("transcript stream closed early")
			}
			return e
		case <-time.After(15 * time.Second):
			t.Fatal("no transcript event")
		}
		return [2]string{}
	}
	closed = func() bool {
		_, ok := <-events
		return !ok
	}
	return next, closed
}
