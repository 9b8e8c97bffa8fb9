package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// replyOutcome is everything Next gave for one body.
type replyOutcome struct {
	Replies []Reply
	Invalid []string
	Err     string
}

// readReplies reads body as a reply of contentType through a stream made
// as Turn makes it, failing t if Next does not end.
func readReplies(t *testing.T, body io.Reader, contentType string, size int) replyOutcome {
	t.Helper()
	ctx, cancel := context.WithCancelCause(context.Background())
	rs := newReplyStream(ctx, cancel, &http.Response{
		StatusCode: 200, Header: http.Header{"Content-Type": {contentType}}, Body: io.NopCloser(body),
	})
	defer rs.Close()
	var out replyOutcome
	// Every Next but the last consumes at least one line.
	for range size + 2 {
		r, err := rs.Next()
		if err != nil {
			out.Err = err.Error()
			out.Invalid = rs.Invalid
			if err2 := func() error { _, err := rs.Next(); return err }(); err2 == nil || err2.Error() != out.Err {
				t.Fatalf("Next after the end: %v, want %v again", err2, err)
			}
			return out
		}
		checkReply(t, r, rs.Streaming)
		if n := len(out.Replies); n > 0 && !out.Replies[n-1].Interim {
			t.Fatalf("a reply after the final one: %+v", r)
		}
		if !rs.Streaming && len(out.Replies) > 0 {
			t.Fatalf("a single-object reply gave a second reply: %+v", r)
		}
		out.Replies = append(out.Replies, r)
	}
	t.Fatalf("Next did not end after %d calls", size+2)
	return out
}

func checkReply(t *testing.T, r Reply, streaming bool) {
	t.Helper()
	if r.Raw != nil && (!json.Valid(r.Raw) || r.Raw[0] != '{') {
		t.Fatalf("Raw is not a JSON object: %q", r.Raw)
	}
	if r.Raw == nil && !reflect.DeepEqual(r, Reply{}) {
		t.Fatalf("a reply without Raw has content: %+v", r)
	}
	if strings.Trim(r.Digits, "0123456789*#ABCD") != "" {
		t.Fatalf("Digits %q", r.Digits)
	}
	if r.Text != strings.TrimSpace(r.Text) || strings.Contains(r.Text, "  ") {
		t.Fatalf("Text not collapsed: %q", r.Text)
	}
	if !streaming && (r.Interim || r.Line != 0) {
		t.Fatalf("single-object reply %+v", r)
	}
}

// FuzzReplyStream feeds arbitrary bodies to the reply parser, as NDJSON and
// as a single object, whole and one byte per read: it must not panic, Next
// must end, the outcome must not depend on how the bytes arrive, and no
// reply may follow the final one.
func FuzzReplyStream(f *testing.F) {
	for _, s := range []string{
		`{"text": "Hello"}`,
		`{"text": "Let me check.", "interim": true}` + "\n" + `{"text": "Shipped.", "hangup": true}` + "\n",
		"\n\n42\n\"x\"\n[1]\n{bad\nnull\n{\"interim\": false}\n{\"text\": \"after\"}",
		`{"text": 5, "interim": "true", "digits": 12, "dtmf": "1a#", "action": "transfer"}` + "\r\n{}",
		"\xef\xbb\xbf{\"text\": \"<tool_call>x</tool_call>**hi**\"}",
		`{"text": "` + strings.Repeat("z", MaxReplyLine) + `"}` + "\n{}",
		"",
		"\x00\xff",
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		ct := "application/json"
		if ndjson {
			ct = "application/x-ndjson"
		}
		lines := bytes.Count(body, []byte("\n")) + 1
		whole := readReplies(t, bytes.NewReader(body), ct, lines)
		trickled := readReplies(t, iotest.OneByteReader(bytes.NewReader(body)), ct, lines)
		if !reflect.DeepEqual(whole, trickled) {
			t.Fatalf("outcome depends on how the body arrives:\nwhole    %+v\ntrickled %+v", whole, trickled)
		}
		if whole.Err != io.EOF.Error() && whole.Err != ErrReplyTooLarge.Error() {
			t.Fatalf("an in-memory body ended with %q", whole.Err)
		}
	})
}

// FuzzCleanSpeech: no panic, the result is trimmed, single-spaced, no
// longer than the input, and valid UTF-8 when the input was.
func FuzzCleanSpeech(f *testing.F) {
	for _, s := range []string{
		"Hello **world**", "<tool_call>{}</tool_call>Hi", "5 * 3", "- a\n- b", "[x](y)", "<think>", "ſ<THINKING>x",
		"<function=f>", "__a__ _b_ *c* ~~d~~", "# h #", "```\ncode\n```", "<b attr=\"1\">x</b>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := CleanSpeech(in)
		if out != strings.TrimSpace(out) || strings.Contains(out, "  ") {
			t.Fatalf("CleanSpeech(%q) = %q: not collapsed", in, out)
		}
		if len(out) > len(in) {
			t.Fatalf("CleanSpeech(%q) = %q: longer", in, out)
		}
		if utf8.ValidString(in) && !utf8.ValidString(out) {
			t.Fatalf("CleanSpeech(%q) = %q: invalid UTF-8", in, out)
		}
	})
}
