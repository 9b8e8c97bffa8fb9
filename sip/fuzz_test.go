package sip

import (
	"testing"

	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"github.com/agentphone/agentphone/audio"
)

// FuzzOffersKnownCodec: any INVITE body (the SDP offer is the caller's)
// is judged without a panic. diago's SDP parser panicked on a nil map
// before offersKnownCodec gave it one.
func FuzzOffersKnownCodec(f *testing.F) {
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"))
	f.Add([]byte("m=audio 4000 RTP/AVP 98\r\na=rtpmap:98 L16/8000\r\n"))
	f.Add([]byte("m=audio 4000 RTP/AVP 96\r\na=rtpmap:96 G722/8000\r\na=rtpmap:\r\n"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, body []byte) {
		offersKnownCodec(body)
	})
}

// FuzzRouting: a raw SIP request from the network is parsed by sipgo and
// routed (dialed and calling numbers) without a panic.
func FuzzRouting(f *testing.F) {
	f.Add("INVITE sip:+14155550123@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nFrom: <sip:+15551234567@127.0.0.1>;tag=1\r\nTo: <sip:+14155550123@127.0.0.1>\r\nCall-ID: 1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
	f.Add("INVITE sip:4155550123;phone-context=+1@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK2\r\nFrom: <sip:a@b>;tag=2\r\nTo: <sip:x@y>\r\nP-Asserted-Identity: <sip:+1555@carrier;user=phone>\r\nCall-ID: 2\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
	f.Add("INVITE sip:@ SIP/2.0\r\n\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		msg, err := sip.ParseMessage([]byte(raw))
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok {
			return
		}
		dialedNumber(req)
		callerNumber(req)
	})
}

// FuzzMedia: any UDP datagram on a media port is unmarshalled as RTP and,
// when it parses, its payload decoded by each codec and as an RFC 4733
// event, without a panic.
func FuzzMedia(f *testing.F) {
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 1, Timestamp: 160, SSRC: 7}, Payload: make([]byte, 160)}
	b, _ := pkt.Marshal()
	f.Add(b)
	f.Add([]byte{0x80, 101, 0, 1, 0, 0, 0, 160, 0, 0, 0, 7, 5, 0x8a, 0, 160})
	f.Add([]byte{0xff})
	codecs := []audio.Codec{audio.PCMU{}, audio.PCMA{}, audio.NewG722()}
	f.Fuzz(func(t *testing.T, datagram []byte) {
		var p rtp.Packet
		if err := p.Unmarshal(datagram); err != nil {
			return
		}
		for _, c := range codecs {
			c.Decode(p.Payload, nil)
		}
		var ev media.DTMFEvent
		_ = media.DTMFDecode(p.Payload, &ev)
	})
}
