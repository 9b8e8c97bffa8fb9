package sip

import (
	"strconv"
	"strings"

	"github.com/emiago/diago/media"
	"github.com/emiago/diago/media/sdp"
	"github.com/emiago/sipgo/sip"
)

// Codecs this server speaks, best first: G.722 (wideband), then G.711
// μ-law and A-law, with RFC 4733 telephone events for DTMF. G.722's RTP
// clock is 8000 though it carries 16 kHz audio (RFC 3551).
var (
	codecG722 = media.Codec{Name: "G722", PayloadType: 9, SampleRate: 8000, SampleDur: media.CodecAudioUlaw.SampleDur, NumChannels: 1}

	mediaCodecs = []media.Codec{codecG722, media.CodecAudioUlaw, media.CodecAudioAlaw, media.CodecTelephoneEvent8000}
)

// offersKnownCodec reports whether the SDP offer body has an audio stream
// with at least one codec of mediaCodecs (by static payload type or by
// rtpmap name and clock rate). An INVITE without a body (a late offer,
// which this server does not answer yet) offers nothing.
func offersKnownCodec(body []byte) bool {
	if len(body) == 0 {
		return false
	}
	sd := sdp.SessionDescription{}
	if err := sdp.Unmarshal(body, &sd); err != nil {
		return false
	}
	md, err := sd.MediaDescription("audio")
	if err != nil {
		return false
	}
	names := map[string]string{} // payload type → name/rate from rtpmap
	for _, a := range sd.Values("a") {
		v, ok := strings.CutPrefix(a, "rtpmap:")
		if !ok {
			continue
		}
		pt, enc, ok := strings.Cut(v, " ")
		if ok {
			names[pt] = strings.ToLower(enc)
		}
	}
	for _, f := range md.Formats {
		if enc, ok := names[f]; ok {
			name, rate, _ := strings.Cut(enc, "/")
			rate, _, _ = strings.Cut(rate, "/")
			for _, c := range mediaCodecs {
				if c.IsAuxiliary() {
					continue
				}
				if strings.EqualFold(name, c.Name) {
					if rate == strconv.Itoa(int(c.SampleRate)) {
						return true
					}
				}
			}
			continue
		}
		switch f { // static payload types without an rtpmap
		case "0", "8", "9":
			return true
		}
	}
	return false
}

// dialedNumber returns the number an INVITE is for: the request URI's
// user part, else the To header's, as the carrier wrote it (E.164, or
// digits; the call service normalises it).
func dialedNumber(req *sip.Request) string {
	if u := userPart(req.Recipient.User); u != "" {
		return u
	}
	if to := req.To(); to != nil {
		return userPart(to.Address.User)
	}
	return ""
}

// callerNumber returns the caller's number from the From header (or
// P-Asserted-Identity when the trunk sends one).
func callerNumber(req *sip.Request) string {
	if h := req.GetHeader("P-Asserted-Identity"); h != nil {
		v := h.Value()
		if i := strings.Index(v, "sip:"); i >= 0 {
			u := v[i+4:]
			if at := strings.IndexAny(u, "@;>"); at >= 0 {
				u = u[:at]
			}
			if p := userPart(u); p != "" {
				return p
			}
		}
	}
	if from := req.From(); from != nil {
		return userPart(from.Address.User)
	}
	return ""
}

// userPart drops URI parameters (";phone-context=…") and visual
// separators from a user part.
func userPart(u string) string {
	u, _, _ = strings.Cut(u, ";")
	return strings.NewReplacer("-", "", ".", "", "(", "", ")", "", " ", "").Replace(u)
}
