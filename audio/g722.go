package audio

// G.722: 7 kHz audio (16 kHz sampling) in 64 kbit/s, ITU-T Recommendation
// G.722 (11/88): a quadrature mirror filter splits the signal into a low
// and a high band, each coded with sub-band ADPCM (6 bits low, 2 bits
// high), one byte for every two input samples.
//
// This is a Go port of Steve Underwood's G.722 codec as kept in spandsp and
// sippy/libg722 (bit-exact to the ITU test vectors there), which its author
// placed in the public domain, itself based on the G.722 codec of Carnegie
// Mellon University (Chengxiang Lu and Alex Hauptmann, 1993: "use of this
// program, for any research or commercial purpose, is completely
// unrestricted"; acknowledged here as its authors ask). Only the 64 kbit/s
// mode that RTP uses (RFC 3551 §4.5.2) is ported, with the QMF band
// filters. It is hand-written because the pure Go G.722 packages were not
// to be had from the module proxy and the others wrap libg722 with cgo.
//
// The block names in comments (1L, 3H, …) are those of G.722 §3 and §4.

import "slices"

// G722 is the G.722 codec at 64 kbit/s (RTP payload type 9). Its audio is
// 16 kHz, but its RTP clock runs at 8000 Hz, an error frozen into RFC 1890
// and kept by RFC 3551 §4.5.2: a 20 ms packet is 320 samples, 160 bytes,
// and advances the timestamp by 160.
//
// A G722 keeps adaptive state for each direction; the zero value is not
// ready, use NewG722.
type G722 struct {
	enc g722State
	dec g722State

	// pending is an input sample waiting for its pair: the encoder takes
	// samples two at a time.
	pending    int16
	hasPending bool
}

// NewG722 returns a G.722 codec with fresh encoder and decoder state.
func NewG722() *G722 {
	c := &G722{}
	c.enc.reset()
	c.dec.reset()
	return c
}

// Name returns "G722".
func (*G722) Name() string { return "G722" }

// PayloadType returns 9.
func (*G722) PayloadType() uint8 { return 9 }

// ClockRate returns 8000 (RFC 3551 §4.5.2), not the sample rate.
func (*G722) ClockRate() int { return 8000 }

// SampleRate returns 16000.
func (*G722) SampleRate() int { return 16000 }

// Encode appends one byte per two samples of pcm (16 kHz) to dst. An odd
// last sample is kept and encoded with the first sample of the next call.
func (c *G722) Encode(pcm []int16, dst []byte) []byte {
	dst = slices.Grow(dst, (len(pcm)+1)/2)
	if c.hasPending && len(pcm) > 0 {
		dst = append(dst, c.enc.encode(c.pending, pcm[0]))
		pcm = pcm[1:]
		c.hasPending = false
	}
	for len(pcm) >= 2 {
		dst = append(dst, c.enc.encode(pcm[0], pcm[1]))
		pcm = pcm[2:]
	}
	if len(pcm) == 1 {
		c.pending, c.hasPending = pcm[0], true
	}
	return dst
}

// Decode appends two samples (16 kHz) per byte of payload to dst.
func (c *G722) Decode(payload []byte, dst []int16) []int16 {
	dst = slices.Grow(dst, 2*len(payload))
	for _, code := range payload {
		a, b := c.dec.decode(code)
		dst = append(dst, a, b)
	}
	return dst
}

// g722Band is the ADPCM state of one sub-band (G.722 §3.6 block 4 and the
// scale factor of blocks 3L/3H).
type g722Band struct {
	s, sp, sz int
	r         [3]int
	a, ap     [3]int
	p         [3]int
	d         [7]int
	b, bp     [7]int
	sg        [7]int
	nb, det   int
}

// g722State is the state of one encoder or one decoder.
type g722State struct {
	x    [24]int // QMF history
	band [2]g722Band
}

func (st *g722State) reset() {
	*st = g722State{}
	st.band[0].det = 32
	st.band[1].det = 8
}

// Tables of G.722 §4 (low band quantizer, log scale adaptation, inverse
// quantizers) and the 24-tap QMF (§3.3, Table 11, as 12 symmetric pairs).
var (
	g722Q6   = [32]int{0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 0, 0}
	g722ILN  = [32]int{0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 0}
	g722ILP  = [32]int{0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 0}
	g722WL   = [8]int{-60, -30, 58, 172, 334, 538, 1198, 3042}
	g722RL42 = [16]int{0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0}
	g722ILB  = [32]int{2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834, 2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008}
	g722QM4  = [16]int{0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584, 1200, 0}
	g722QM6  = [64]int{
		-136, -136, -136, -136, -24808, -21904, -19008, -16704,
		-14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856,
		-7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576,
		-3168, -2776, -2400, -2032, -1688, -1360, -1040, -728,
		24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192,
		10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
		4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032,
		1688, 1360, 1040, 728, 432, 136, -432, -136,
	}
	g722QM2 = [4]int{-7408, -1616, 7408, 1616}
	g722IHN = [3]int{0, 1, 0}
	g722IHP = [3]int{0, 3, 2}
	g722WH  = [3]int{0, -214, 798}
	g722RH2 = [4]int{2, 1, 2, 1}
	g722QMF = [12]int{3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11}
)

// sat16 clamps v to the range of int16 (the reference's saturate).
func sat16(v int) int {
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	return v
}

// encode codes two 16 kHz samples into one byte: 2 bits of high band, 6 of
// low band.
func (st *g722State) encode(s0, s1 int16) byte {
	// Transmit QMF (§3.3): shift in two samples, keep one output per band.
	copy(st.x[:22], st.x[2:])
	st.x[22], st.x[23] = int(s0), int(s1)
	var sumEven, sumOdd int
	for i := range 12 {
		sumOdd += st.x[2*i] * g722QMF[i]
		sumEven += st.x[2*i+1] * g722QMF[11-i]
	}
	xlow := (sumEven + sumOdd) >> 14
	xhigh := (sumEven - sumOdd) >> 14

	lo := &st.band[0]
	// Block 1L, SUBTRA
	el := sat16(xlow - lo.s)
	// Block 1L, QUANTL
	wd := el
	if el < 0 {
		wd = -(el + 1)
	}
	i := 1
	for ; i < 30; i++ {
		if wd < (g722Q6[i]*lo.det)>>12 {
			break
		}
	}
	ilow := g722ILP[i]
	if el < 0 {
		ilow = g722ILN[i]
	}
	// Block 2L, INVQAL
	ril := ilow >> 2
	dlow := (lo.det * g722QM4[ril]) >> 15
	// Blocks 3L, LOGSCL and SCALEL
	lo.nb = clampInt(((lo.nb*127)>>7)+g722WL[g722RL42[ril]], 0, 18432)
	lo.det = scale(lo.nb, 8)
	lo.block4(dlow)

	hi := &st.band[1]
	// Block 1H, SUBTRA
	eh := sat16(xhigh - hi.s)
	// Block 1H, QUANTH
	wd = eh
	if eh < 0 {
		wd = -(eh + 1)
	}
	mih := 1
	if wd >= (564*hi.det)>>12 {
		mih = 2
	}
	ihigh := g722IHP[mih]
	if eh < 0 {
		ihigh = g722IHN[mih]
	}
	// Block 2H, INVQAH
	dhigh := (hi.det * g722QM2[ihigh]) >> 15
	// Blocks 3H, LOGSCH and SCALEH
	hi.nb = clampInt(((hi.nb*127)>>7)+g722WH[g722RH2[ihigh]], 0, 22528)
	hi.det = scale(hi.nb, 10)
	hi.block4(dhigh)

	return byte(ihigh<<6 | ilow)
}

// decode turns one byte into two 16 kHz samples.
func (st *g722State) decode(code byte) (int16, int16) {
	lo := &st.band[0]
	wd1 := int(code & 0x3f)
	ihigh := int(code>>6) & 0x03

	// Block 5L, LOW BAND INVQBL; RECONS; Block 6L, LIMIT
	rlow := clampInt(lo.s+(lo.det*g722QM6[wd1])>>15, -16384, 16383)
	// Block 2L, INVQAL
	wd1 >>= 2
	dlow := (lo.det * g722QM4[wd1]) >> 15
	// Blocks 3L, LOGSCL and SCALEL
	lo.nb = clampInt(((lo.nb*127)>>7)+g722WL[g722RL42[wd1]], 0, 18432)
	lo.det = scale(lo.nb, 8)
	lo.block4(dlow)

	hi := &st.band[1]
	// Block 2H, INVQAH; Block 5H, RECONS; Block 6H, LIMIT
	dhigh := (hi.det * g722QM2[ihigh]) >> 15
	rhigh := clampInt(dhigh+hi.s, -16384, 16383)
	// Blocks 3H, LOGSCH and SCALEH
	hi.nb = clampInt(((hi.nb*127)>>7)+g722WH[g722RH2[ihigh]], 0, 22528)
	hi.det = scale(hi.nb, 10)
	hi.block4(dhigh)

	// Receive QMF (§3.3)
	copy(st.x[:22], st.x[2:])
	st.x[22] = rlow + rhigh
	st.x[23] = rlow - rhigh
	var xout1, xout2 int
	for i := range 12 {
		xout2 += st.x[2*i] * g722QMF[i]
		xout1 += st.x[2*i+1] * g722QMF[11-i]
	}
	return int16(sat16(xout1 >> 11)), int16(sat16(xout2 >> 11))
}

// scale is blocks 3L/3H SCALEL/SCALEH: the quantizer scale factor from the
// log scale factor nb (shift is 8 for the low band, 10 for the high band).
func scale(nb, shift int) int {
	wd1 := (nb >> 6) & 31
	wd2 := shift - (nb >> 11)
	var wd3 int
	if wd2 < 0 {
		wd3 = g722ILB[wd1] << -wd2
	} else {
		wd3 = g722ILB[wd1] >> wd2
	}
	return wd3 << 2
}

// block4 is block 4 of G.722 §3.6: reconstruction and the adaptive
// pole/zero predictor, for one band with quantized difference d.
func (b *g722Band) block4(d int) {
	// RECONS
	b.d[0] = d
	b.r[0] = sat16(b.s + d)
	// PARREC
	b.p[0] = sat16(b.sz + d)

	// UPPOL2
	for i := range 3 {
		b.sg[i] = b.p[i] >> 15
	}
	wd1 := sat16(b.a[1] << 2)
	wd2 := wd1
	if b.sg[0] == b.sg[1] {
		wd2 = -wd1
	}
	wd2 = min(wd2, 32767)
	wd3 := wd2 >> 7
	if b.sg[0] == b.sg[2] {
		wd3 += 128
	} else {
		wd3 -= 128
	}
	wd3 += (b.a[2] * 32512) >> 15
	b.ap[2] = clampInt(wd3, -12288, 12288)

	// UPPOL1
	b.sg[0] = b.p[0] >> 15
	b.sg[1] = b.p[1] >> 15
	wd1 = -192
	if b.sg[0] == b.sg[1] {
		wd1 = 192
	}
	wd2 = (b.a[1] * 32640) >> 15
	b.ap[1] = sat16(wd1 + wd2)
	wd3 = sat16(15360 - b.ap[2])
	b.ap[1] = clampInt(b.ap[1], -wd3, wd3)

	// UPZERO
	wd1 = 128
	if d == 0 {
		wd1 = 0
	}
	b.sg[0] = d >> 15
	for i := 1; i < 7; i++ {
		b.sg[i] = b.d[i] >> 15
		wd2 = -wd1
		if b.sg[i] == b.sg[0] {
			wd2 = wd1
		}
		wd3 = (b.b[i] * 32640) >> 15
		b.bp[i] = sat16(wd2 + wd3)
	}

	// DELAYA
	for i := 6; i > 0; i-- {
		b.d[i] = b.d[i-1]
		b.b[i] = b.bp[i]
	}
	for i := 2; i > 0; i-- {
		b.r[i] = b.r[i-1]
		b.p[i] = b.p[i-1]
		b.a[i] = b.ap[i]
	}

	// FILTEP
	wd1 = sat16(b.r[1] + b.r[1])
	wd1 = (b.a[1] * wd1) >> 15
	wd2 = sat16(b.r[2] + b.r[2])
	wd2 = (b.a[2] * wd2) >> 15
	b.sp = sat16(wd1 + wd2)

	// FILTEZ
	b.sz = 0
	for i := 6; i > 0; i-- {
		wd1 = sat16(b.d[i] + b.d[i])
		b.sz += (b.b[i] * wd1) >> 15
	}
	b.sz = sat16(b.sz)

	// PREDIC
	b.s = sat16(b.sp + b.sz)
}

func clampInt(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
