package voice

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// End-of-turn windows: how long the caller must have been silent, counted
// from their last voiced frame, before their turn ends. docs/turn-taking.md
// explains each from the caller's side.
//
// The base windows follow what voice platforms ship: OpenAI's Realtime
// server VAD ends a turn after 500 ms of silence, LiveKit Agents' minimum
// endpointing delay is 500 ms, Pipecat's VAD stops after 800 ms. "fast"
// takes the common 500 ms; "accurate" adds the ~200 ms the API reference
// announces for it (sttMode, §2.1) and gives every window that margin, so
// that callers who pause to think are cut off less.
const (
	// Short complete answers ("yes", "no thanks", "that's right", a lone
	// number): they cannot go on, so the agent answers promptly. Longer
	// than the 200 ms hangover of the energy detector, so a word that
	// merely trails off is not a turn.
	fastShortWait     = 300 * time.Millisecond
	accurateShortWait = 400 * time.Millisecond

	// Everything else: the base window.
	fastBaseWait     = 500 * time.Millisecond
	accurateBaseWait = 700 * time.Millisecond

	// Words that sound unfinished: a trailing conjunction, preposition,
	// article, filler, comma or dash, a dangling clause. Vapi waits 1.5 s
	// after a transcript without final punctuation; people resume a
	// sentence they paused in within about a second.
	fastUnfinishedWait     = 1200 * time.Millisecond
	accurateUnfinishedWait = 1500 * time.Millisecond

	// Dictation: digits, a phone or account number, a date, an email
	// address or letters being read out and not complete yet. Callers read
	// numbers in groups and look at a card between them; being cut off in
	// the middle of a number is the most common complaint about voice
	// agents, so this is the longest window.
	fastDictationWait     = 2000 * time.Millisecond
	accurateDictationWait = 2500 * time.Millisecond
)

// MinEndpointWait and MaxEndpointWait bound every wait an Endpointer
// returns. MaxEndpointWait is also the hard maximum of silence after which
// the engine should end a turn whatever the words (LiveKit Agents' maximum
// endpointing delay is the same 3 s): a recogniser that is late with its
// final words must not leave a silent caller waiting.
const (
	MinEndpointWait = fastShortWait
	MaxEndpointWait = 3 * time.Second
)

// Limits on the text looked at: only the end of a turn decides its end,
// and transcripts are untrusted and may be long.
const (
	maxEndpointText  = 512 // bytes at the end of the text
	maxPromptText    = 256 // bytes at the end of the agent's question
	maxEndpointWords = 48  // words at the end of the text
	contextWords     = 8   // words before a number searched for what it is
)

// EndpointReason says which rule chose an end-of-turn wait.
type EndpointReason string

// The reasons, from the shortest wait to the longest.
const (
	EndpointShort      EndpointReason = "short-answer" // a short complete answer or a lone number
	EndpointDefault    EndpointReason = "default"      // no rule applies: the base window
	EndpointEmpty      EndpointReason = "empty"        // no words yet: the base window
	EndpointComplete   EndpointReason = "complete"     // a phone number, date or email address read in full: the base window
	EndpointUnfinished EndpointReason = "unfinished"   // the words sound unfinished
	EndpointDigits     EndpointReason = "digits"       // digits or a number being read out
	EndpointDate       EndpointReason = "date"         // a date being read out
	EndpointEmail      EndpointReason = "email"        // an email address being read out
	EndpointSpelling   EndpointReason = "spelling"     // letters being spelled
)

// Endpoint is an end-of-turn decision.
type Endpoint struct {
	// Wait is how long the caller must have been silent since their last
	// voiced frame for the turn to end, in [MinEndpointWait,
	// MaxEndpointWait].
	Wait   time.Duration
	Reason EndpointReason
}

// Endpointer decides when a caller's turn ends from the words recognised
// so far: a complete short answer ends it promptly, words that sound
// unfinished or a number being read out hold it open longer. It is pure
// (no clock, no state): the engine asks it again whenever the words
// change and compares the answer with the caller's silence. An Endpointer
// may be shared by goroutines as long as its fields are not changed.
type Endpointer struct {
	// Mode is the agent's sttMode: "accurate" waits longer; anything
	// else is "fast".
	Mode string
	// Language is the agent's BCP-47 language. The rules that read words
	// are English and apply when it is empty or English; in other
	// languages only the rules on punctuation and on numerals apply.
	Language string
	// Prompt is optional: the last thing the agent said, usually the
	// question the caller is answering. When the caller's own words do not
	// say what a number is ("five five five…"), the question does ("What
	// is your phone number?").
	Prompt string
}

// NewEndpointer returns an Endpointer for an agent's sttMode.
func NewEndpointer(mode string) *Endpointer { return &Endpointer{Mode: mode} }

// Wait is how long the caller must have been silent, since their last
// voiced frame, for their turn to end, given the words recognised so far
// (final and interim, as one text). Only the end of the text counts (its
// last 512 bytes). A call costs a few microseconds for a sentence, about
// 15 µs for a long turn: compute it when the words change, not at every
// 20 ms frame.
func (e Endpointer) Wait(text string) time.Duration { return e.Decide(text).Wait }

// Decide is Wait with the rule that chose it.
func (e Endpointer) Decide(text string) Endpoint {
	r := e.reason(text)
	return Endpoint{Wait: e.window(r), Reason: r}
}

// window is the wait for a reason in e's mode.
func (e Endpointer) window(r EndpointReason) time.Duration {
	short, base, unfinished, dictation := fastShortWait, fastBaseWait, fastUnfinishedWait, fastDictationWait
	if e.Mode == "accurate" {
		short, base, unfinished, dictation = accurateShortWait, accurateBaseWait, accurateUnfinishedWait, accurateDictationWait
	}
	var w time.Duration
	switch r {
	case EndpointShort:
		w = short
	case EndpointUnfinished:
		w = unfinished
	case EndpointDigits, EndpointDate, EndpointEmail, EndpointSpelling:
		w = dictation
	default:
		w = base
	}
	return min(max(w, MinEndpointWait), MaxEndpointWait)
}

// reason applies the rules in order: dictation first (a number being read
// out wins over everything, a complete one ends normally), then
// unfinished punctuation and words, then short answers.
func (e Endpointer) reason(text string) EndpointReason {
	en := e.Language == "" || strings.HasPrefix(strings.ToLower(e.Language), "en")
	toks := endpointWords(text, maxEndpointText)
	if len(toks) == 0 {
		return EndpointEmpty
	}
	var prompt []string
	if en {
		prompt = endpointWords(e.Prompt, maxPromptText)
	}
	if r, ok := dictation(toks, prompt, en); ok {
		return r
	}
	if unfinishedPunct(text) {
		return EndpointUnfinished
	}
	if en && unfinishedWords(toks) {
		return EndpointUnfinished
	}
	if en && shortAnswer(toks) || loneNumber(toks, en) {
		return EndpointShort
	}
	return EndpointDefault
}

// unfinishedPunct: the recogniser ended the text with a comma, a dash, a
// colon or an ellipsis, its sign of a sentence that goes on.
func unfinishedPunct(text string) bool {
	text = strings.TrimRightFunc(text, unicode.IsSpace)
	if text == "" {
		return false
	}
	switch r := lastRune(text); r {
	case ',', '-', '–', '—', '…', ':', ';', '、', '，':
		return true
	}
	return strings.HasSuffix(text, "..")
}

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r
}

// endpointWords cuts the end of text (its last limit bytes) into
// lower-case words without the punctuation around them. Letters spelled
// with hyphens or dots ("J-O-H-N", "j.o.h.n"; not "p.m." or "U.S.") and
// hyphenated number words ("twenty-five") become words of their own;
// numerals keep their inner punctuation ("555-1234", "3.5").
func endpointWords(text string, limit int) []string {
	if len(text) > limit {
		text = text[len(text)-limit:]
		// Drop the word the cut went through.
		if i := strings.IndexFunc(text, unicode.IsSpace); i >= 0 {
			text = text[i:]
		}
	}
	text = apostrophes.Replace(strings.ToLower(text))
	var out []string
	for _, f := range strings.FieldsFunc(text, unicode.IsSpace) {
		f = strings.TrimFunc(f, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '@' })
		if f == "" {
			continue
		}
		out = appendSplit(out, f)
	}
	if len(out) > maxEndpointWords {
		out = out[len(out)-maxEndpointWords:]
	}
	return out
}

var apostrophes = strings.NewReplacer("’", "'", "‘", "'", "`", "'", "ʼ", "'")

func appendSplit(out []string, f string) []string {
	if f == "e-mail" {
		return append(out, "email")
	}
	for _, sep := range []string{"-", "."} {
		if !strings.Contains(f, sep) {
			continue
		}
		parts := strings.Split(f, sep)
		letters, numbers := true, true
		for _, p := range parts {
			letters = letters && isLetter(p)
			_, isNum := numberWords[p]
			numbers = numbers && isNum
		}
		if letters && (sep == "-" || len(parts) >= 3) || numbers && sep == "-" {
			return append(out, parts...)
		}
	}
	return append(out, f)
}

// isLetter: a single letter, as when spelling.
func isLetter(t string) bool {
	r := []rune(t)
	return len(r) == 1 && unicode.IsLetter(r[0])
}

// The kinds of thing a caller reads out, known from the words before it or
// from the agent's question.
type readKind int

const (
	readNone  readKind = iota
	readPhone          // complete at 10 digits or more, or 7 after "area code"
	readZip            // complete at 5 or 9 digits
	readSSN            // complete at 9 digits
	readCard           // complete at 16 digits
	readID             // account, order, confirmation, PIN…: length unknown, never complete
	readDate           // complete with a year
	readEmail          // complete with ".com" and the like
	readSpell          // letters: never complete
	readNoun           // "number", "code", "id", "digits", "address": the word before says what
)

// readWords name what is being read out.
var readWords = map[string]readKind{
	"phone": readPhone, "telephone": readPhone, "cell": readPhone, "cellphone": readPhone, "mobile": readPhone,
	"landline": readPhone, "fax": readPhone, "callback": readPhone, "call": readPhone, "reach": readPhone,
	"text": readPhone,
	"zip":  readZip, "zipcode": readZip, "postal": readZip, "postcode": readZip,
	"social": readSSN, "ssn": readSSN,
	"card": readCard, "credit": readCard, "debit": readCard, "visa": readCard, "mastercard": readCard,
	"account": readID, "order": readID, "confirmation": readID, "reference": readID, "member": readID,
	"membership": readID, "policy": readID, "ticket": readID, "case": readID, "tracking": readID, "pin": readID,
	"passcode": readID, "password": readID, "serial": readID, "invoice": readID, "claim": readID,
	"booking": readID, "reservation": readID, "customer": readID, "patient": readID, "routing": readID,
	"extension": readID, "ext": readID, "license": readID, "plate": readID, "vin": readID, "sku": readID,
	"room": readID, "apartment": readID, "apt": readID, "suite": readID, "flight": readID, "unit": readID,
	"date": readDate, "birth": readDate, "birthday": readDate, "born": readDate, "dob": readDate,
	"expiration": readDate, "expiry": readDate, "expires": readDate, "anniversary": readDate,
	"email": readEmail, "emails": readEmail, "mail": readEmail,
	"spell": readSpell, "spelled": readSpell, "spelling": readSpell, "spelt": readSpell, "letter": readSpell,
	"letters": readSpell,
	"number":  readNoun, "code": readNoun, "id": readNoun, "digits": readNoun, "address": readNoun,
}

// nounDefault is what a readNoun is when the word before does not say.
var nounDefault = map[string]readKind{"number": readPhone, "code": readID, "id": readID, "digits": readID, "address": readID}

// readContext is what a number or word being read out is.
type readContext struct {
	kind       readKind
	lastN      int  // "the last four": complete at this many digits
	fromPrompt bool // found in the agent's question, not the caller's words
}

// findContext looks for what is being read out in the words before it
// (the nearest name wins), else in the agent's question (its last name).
func findContext(before, prompt []string) readContext {
	if len(before) > contextWords {
		before = before[len(before)-contextWords:]
	}
	if c, ok := scanContext(before); ok {
		return c
	}
	if c, ok := scanContext(prompt); ok {
		c.fromPrompt = true
		return c
	}
	return readContext{}
}

func scanContext(toks []string) (readContext, bool) {
	for i := 0; i+1 < len(toks); i++ { // "the last four (digits)"
		if toks[i] != "last" {
			continue
		}
		if n := smallNumber(toks[i+1]); n >= 2 && n <= 9 {
			return readContext{kind: readID, lastN: n}, true
		}
	}
	for i := len(toks) - 1; i >= 0; i-- {
		k := readWords[toks[i]]
		switch {
		case k == readNone:
			continue
		case k == readNoun:
			k = nounDefault[toks[i]]
			if toks[i] == "address" {
				if i > 0 && readWords[toks[i-1]] == readEmail {
					k = readEmail
				}
				return readContext{kind: k}, true
			}
			// "phone number", "zip code", "social security number": a
			// name up to two words back says what the number is.
			for j := i - 1; j >= max(0, i-2); j-- {
				if toks[j] == "area" {
					k = readPhone
					break
				}
				if q := readWords[toks[j]]; q != readNone && q != readNoun {
					k = q
					break
				}
			}
			if k == readEmail || k == readSpell {
				k = readID
			}
		}
		return readContext{kind: k}, true
	}
	return readContext{}, false
}

// smallNumber is the value of a one-word number 0–99 (a numeral or a
// word), else -1.
func smallNumber(t string) int {
	if n, ok := numberWords[t]; ok && (n.class == numUnit || n.class == numTeen) {
		return n.value
	}
	if len(t) == 1 && t[0] >= '0' && t[0] <= '9' {
		return int(t[0] - '0')
	}
	return -1
}

// Number words. The digits a word adds when read in a number: "five" 1,
// "fifteen" 2, "twenty" 2 ("twenty five" is still 2), "hundred" 2 more.
type numClass int

const (
	numUnit numClass = iota + 1
	numOh            // "oh", "o": a zero inside a number only
	numTeen
	numTens
	numHundred
	numThousand
	numMillion
	numRepeat // "double", "triple"
)

type numberWord struct {
	class numClass
	value int // units and teens: the value; repeats: the count
}

var numberWords = map[string]numberWord{
	"zero": {numUnit, 0}, "nought": {numUnit, 0}, "one": {numUnit, 1}, "two": {numUnit, 2}, "three": {numUnit, 3},
	"four": {numUnit, 4}, "five": {numUnit, 5}, "six": {numUnit, 6}, "seven": {numUnit, 7}, "eight": {numUnit, 8},
	"nine": {numUnit, 9}, "oh": {numOh, 0}, "o": {numOh, 0},
	"ten": {numTeen, 10}, "eleven": {numTeen, 11}, "twelve": {numTeen, 12}, "thirteen": {numTeen, 13},
	"fourteen": {numTeen, 14}, "fifteen": {numTeen, 15}, "sixteen": {numTeen, 16}, "seventeen": {numTeen, 17},
	"eighteen": {numTeen, 18}, "nineteen": {numTeen, 19},
	"twenty": {numTens, 20}, "thirty": {numTens, 30}, "forty": {numTens, 40}, "fourty": {numTens, 40},
	"fifty": {numTens, 50}, "sixty": {numTens, 60}, "seventy": {numTens, 70}, "eighty": {numTens, 80},
	"ninety":  {numTens, 90},
	"hundred": {numHundred, 0}, "thousand": {numThousand, 0}, "million": {numMillion, 0},
	"double": {numRepeat, 2}, "triple": {numRepeat, 3},
}

// isNumeral: a token made of digits, possibly with the punctuation of a
// formatted number ("555-1234", "(415)", "+1", "1,000", "3.5", "5/12/1990").
func isNumeral(t string) bool {
	digit := false
	for i, r := range t {
		switch {
		case r >= '0' && r <= '9':
			digit = true
		case r == '-' || r == '.' || r == ',' || r == '/' || r == ':' || r == '(' || r == ')':
		case r == '+' && i == 0:
		default:
			return false
		}
	}
	return digit
}

func digitCount(t string) int {
	n := 0
	for i := 0; i < len(t); i++ {
		if t[i] >= '0' && t[i] <= '9' {
			n++
		}
	}
	return n
}

// numberToken: a numeral, or (in English) a number word.
func numberToken(t string, en bool) bool {
	if isNumeral(t) {
		return true
	}
	_, ok := numberWords[t]
	return en && ok
}

// numberRun finds the number at the end of toks (fillers after it, and
// "dash" or fillers inside it, skipped): toks[start:end] holds it, or
// start == end when toks do not end with one. A leading "oh" is an
// interjection, not a zero.
func numberRun(toks []string, en bool) (start, end int) {
	end = len(toks)
	if en {
		for end > 0 && fillerWords[toks[end-1]] {
			end--
		}
	}
	start = end
	for start > 0 {
		t := toks[start-1]
		if numberToken(t, en) {
			start--
			continue
		}
		if en && start < end && (fillerWords[t] || t == "dash" || t == "hyphen") && start >= 2 && numberToken(toks[start-2], en) {
			start--
			continue
		}
		break
	}
	for start < end && (!numberToken(toks[start], en) || numberWords[toks[start]].class == numOh && !isNumeral(toks[start])) {
		start++
	}
	return start, end
}

// numberParts is a run's number tokens (without the skipped words).
func numberParts(run []string, en bool) []string {
	var out []string
	for _, t := range run {
		if numberToken(t, en) {
			out = append(out, t)
		}
	}
	return out
}

// countDigits is how many digits a run reads out: numerals count their
// digits; "five five five" is 3, "twenty five" 2, "eight hundred" 3,
// "double five" 2. Quantities in words ("five hundred fifty") are
// counted roughly; digits read out are counted exactly.
func countDigits(parts []string) int {
	n, repeat, afterTens := 0, 1, false
	for i, t := range parts {
		if isNumeral(t) {
			n += digitCount(t)
			repeat, afterTens = 1, false
			continue
		}
		w := numberWords[t]
		switch w.class {
		case numUnit, numOh:
			if !afterTens || w.class == numOh || repeat > 1 {
				n += repeat
			}
			repeat, afterTens = 1, false
		case numTeen:
			n += 2
			afterTens = false
		case numTens:
			n += 2
			afterTens = true
		case numHundred:
			n += 2
			if i == 0 {
				n++
			}
			afterTens = false
		case numThousand:
			n += 3
			if i == 0 {
				n++
			}
			afterTens = false
		case numMillion:
			n += 6
			if i == 0 {
				n++
			}
			afterTens = false
		case numRepeat:
			repeat = w.value
		}
	}
	return n
}

// digitByDigit: the run reads digits out one by one or in groups ("five
// five five", "415 555", "555-1234", "94107") rather than saying a
// quantity ("twenty five", "500", "1,000").
func digitByDigit(parts []string) bool {
	numerals := 0
	for i, t := range parts {
		if isNumeral(t) {
			numerals++
			d := digitCount(t)
			if strings.ContainsAny(t, "-()") || t[0] == '+' || d >= 5 && !strings.ContainsAny(t, ",.:/") {
				return true
			}
			continue
		}
		w := numberWords[t]
		if i > 0 && (w.class == numUnit || w.class == numOh || w.class == numRepeat) {
			p := parts[i-1]
			if isNumeral(p) {
				return true
			}
			switch numberWords[p].class {
			case numUnit, numOh, numTeen, numRepeat:
				return true
			}
		}
	}
	return numerals >= 2 || countDigits(parts) >= 5
}

// leadInWords may come before a number that is the whole answer: "uh,
// five", "it's 94107", "about ten".
var leadInWords = wordSet("um", "uh", "er", "erm", "umm", "uhm", "so", "yes", "yeah", "sure", "ok", "okay", "it's", "it", "is",
	"its", "that's", "that", "my", "the", "well", "oh", "about", "around", "maybe", "like", "just", "only",
	"probably", "approximately", "roughly", "and", "a")

func onlyLeadIns(toks []string) bool {
	for _, t := range toks {
		if !leadInWords[t] {
			return false
		}
	}
	return true
}

// dictation applies the rules on numbers, dates, email addresses and
// spelling: ok reports that one applied, with its reason (EndpointComplete
// when what was read out is whole).
func dictation(toks, prompt []string, en bool) (EndpointReason, bool) {
	if r, ok := emailRule(toks, prompt, en); ok {
		return r, true
	}
	if r, ok := numberRule(toks, prompt, en); ok {
		return r, true
	}
	if !en {
		return "", false
	}
	if r, ok := dateWordRule(toks, prompt); ok {
		return r, true
	}
	if spellingRule(toks, prompt) {
		return EndpointSpelling, true
	}
	return introRule(toks, prompt)
}

// kindReason is the reason for something of kind k not yet complete.
func kindReason(k readKind) EndpointReason {
	switch k {
	case readDate:
		return EndpointDate
	case readEmail:
		return EndpointEmail
	case readSpell:
		return EndpointSpelling
	}
	return EndpointDigits
}

// numberRule: the text ends with a number. With a name for it (in the
// caller's words before it, or in the agent's question), it is dictation
// until complete for its kind; without, digits read one by one are
// dictation until they make a phone number.
func numberRule(toks, prompt []string, en bool) (EndpointReason, bool) {
	start, end := numberRun(toks, en)
	if start == end {
		return "", false
	}
	parts := numberParts(toks[start:end], en)
	n, seq := countDigits(parts), digitByDigit(parts)
	last := parts[len(parts)-1]
	if strings.Count(last, "/") >= 2 { // 5/12/1990: a whole date
		return EndpointComplete, true
	}
	var c readContext
	if en {
		c = findContext(toks[:start], prompt)
		if start > 0 && monthWords[toks[start-1]] || start > 1 && isOrdinal(toks[start-1]) && monthNear(toks[:start-1]) {
			c = readContext{kind: readDate} // "March 5", "March 5th 1990"
		}
		// The agent's question names a number the caller gives alone
		// ("five five five", "94107"); a number deep in a sentence
		// ("the second one") is something else.
		if c.fromPrompt && !seq && !onlyLeadIns(toks[:start]) {
			c = readContext{}
		}
	}
	areaCode := false
	for i := 0; i+1 < start; i++ {
		areaCode = areaCode || toks[i] == "area" && toks[i+1] == "code"
	}
	complete := func(ok bool) (EndpointReason, bool) {
		if ok {
			return EndpointComplete, true
		}
		return kindReason(c.kind), true
	}
	if c.lastN > 0 {
		return complete(n >= c.lastN)
	}
	switch c.kind {
	case readPhone:
		return complete(n >= 10 || n == 7 && areaCode)
	case readZip:
		return complete(n == 5 || n >= 9)
	case readSSN:
		return complete(n >= 9)
	case readCard:
		return complete(n >= 16)
	case readDate:
		return complete(hasYear(parts))
	case readID, readEmail, readSpell:
		return complete(false)
	}
	if !seq {
		return "", false // a quantity: "I have 2", "about twenty"
	}
	c.kind = readPhone
	return complete(n == 10 || n == 11 || n == 7 && areaCode)
}

// hasYear: a date's number run ends with its year: "1990", "5/12/1990",
// "nineteen ninety (five)", "twenty twenty four", "two thousand (five)".
func hasYear(parts []string) bool {
	last := parts[len(parts)-1]
	if isNumeral(last) {
		if strings.Count(last, "/") >= 2 || strings.Count(last, "-") >= 2 {
			return true
		}
		return digitCount(last) == 4 && (last[0] == '1' || last[0] == '2')
	}
	// Group the words: a teen, tens with an optional unit, "oh" and a
	// unit, a unit; "thousand" and "hundred" join the group before.
	type group struct {
		first string
		words int
		big   bool // with "thousand" or "hundred"
	}
	var groups []group
	for i := 0; i < len(parts); i++ {
		t := parts[i]
		if isNumeral(t) {
			groups = append(groups, group{first: t, words: 1})
			continue
		}
		w := numberWords[t]
		switch w.class {
		case numThousand, numHundred:
			if len(groups) > 0 {
				groups[len(groups)-1].big = true
				groups[len(groups)-1].words++
				continue
			}
			groups = append(groups, group{first: t, words: 1, big: true})
		case numTens, numOh:
			g := group{first: t, words: 1}
			if i+1 < len(parts) && numberWords[parts[i+1]].class == numUnit {
				g.words++
				i++
			}
			groups = append(groups, g)
		default:
			groups = append(groups, group{first: t, words: 1})
		}
	}
	g := groups[len(groups)-1]
	if g.big && numberWords[g.first].class != numHundred {
		return true // "two thousand", "nineteen hundred"
	}
	if len(groups) < 2 {
		return false
	}
	p := groups[len(groups)-2]
	if p.big && numberWords[p.first].class == numUnit {
		return true // "two thousand five"
	}
	twoDigit := numberWords[g.first].class == numTeen || numberWords[g.first].class == numTens || numberWords[g.first].class == numOh
	return twoDigit && p.words == 1 && (p.first == "nineteen" || p.first == "twenty" || p.first == "eighteen")
}

// monthNear: toks end with a month, or a month and one word ("March the").
func monthNear(toks []string) bool {
	n := len(toks)
	return n >= 1 && monthWords[toks[n-1]] || n >= 2 && monthWords[toks[n-2]]
}

var monthWords = wordSet("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
	"november", "december", "jan", "feb", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec")

var ordinalWords = wordSet("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
	"eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth",
	"nineteenth", "twentieth", "thirtieth")

// isOrdinal: "fifth", "twenty-first", "5th", "22nd".
func isOrdinal(t string) bool {
	if i := strings.LastIndexByte(t, '-'); i >= 0 && ordinalWords[t[i+1:]] {
		return true
	}
	if ordinalWords[t] {
		return true
	}
	for _, suf := range []string{"st", "nd", "rd", "th"} {
		if d, ok := strings.CutSuffix(t, suf); ok && d != "" && digitCount(d) == len(d) && len(d) <= 2 {
			return true
		}
	}
	return false
}

// dateWordRule: a date read out so far ends with a day after a month
// ("March 5th"), with "the fifth of", or with a month or a day when the
// words or the agent's question are about a date ("born in March").
func dateWordRule(toks, prompt []string) (EndpointReason, bool) {
	k := len(toks) - 1
	for k > 0 && fillerWords[toks[k]] {
		k--
	}
	t := toks[k]
	if t == "of" && k > 0 && isOrdinal(toks[k-1]) {
		return EndpointDate, true
	}
	if !monthWords[t] && !isOrdinal(t) {
		return "", false
	}
	if findContext(toks[:k], prompt).kind == readDate {
		return EndpointDate, true // "born in March", "my birthday is the fifth"
	}
	if isOrdinal(t) && monthNear(toks[:k]) {
		return EndpointDate, true // "March 5th", "March the fifth"
	}
	return "", false
}

// Email words.
var (
	emailProviders = wordSet("gmail", "googlemail", "yahoo", "hotmail", "outlook", "icloud", "aol", "protonmail",
		"proton", "msn", "live", "comcast", "verizon", "att", "me", "mac")
	topLevelDomains = wordSet("com", "net", "org", "edu", "gov", "io", "co", "us", "uk", "ca", "de", "fr", "au", "in",
		"info", "biz", "me", "ai", "app", "dev", "mil", "ie", "nz", "es", "it", "nl", "br", "mx")
	emailMarks = wordSet("at", "dot", "underscore", "@", "period")
)

// emailRule: an email address being read out ("john dot smith at gmail")
// or written by the recogniser ("john@gmail"), complete once it ends with
// a known top-level domain after a dot.
func emailRule(toks, prompt []string, en bool) (EndpointReason, bool) {
	last := toks[len(toks)-1]
	if strings.Contains(last, "@") {
		if hasTLD(last) {
			return EndpointComplete, true
		}
		return EndpointEmail, true
	}
	if !en {
		return "", false
	}
	from := max(0, len(toks)-15)
	recent := toks[from:]
	var at, dot, provider, mark bool
	for i, t := range recent {
		at = at || t == "at" || t == "@"
		dot = dot || t == "dot" || strings.Contains(t, "@")
		provider = provider || emailProviders[t] && t != "me" && t != "live" && i > 0 && recent[i-1] == "at"
		mark = mark || emailMarks[t] || strings.Contains(t, "@")
	}
	active := provider || at && dot || emailIntro(recent)
	if !active && mark {
		active = findContext(toks[:from], prompt).kind == readEmail || scanEmailWord(recent)
	}
	if !active {
		return "", false
	}
	if len(toks) >= 2 && topLevelDomains[last] && (toks[len(toks)-2] == "dot" || toks[len(toks)-2] == "period") ||
		hasTLD(last) && strings.Contains(last, ".") {
		return EndpointComplete, true
	}
	return EndpointEmail, true
}

// emailIntro: the words end with "my email is" and up to three words
// that may begin an address ("my email is john"), not ones that say
// something of it ("my email is not working").
func emailIntro(toks []string) bool {
	for i := len(toks) - 1; i >= max(0, len(toks)-4); i-- {
		if toks[i] != "is" && toks[i] != "email's" {
			continue
		}
		if toks[i] == "is" && (i == 0 || readWords[toks[i-1]] != readEmail && !(toks[i-1] == "address" && i >= 2 && readWords[toks[i-2]] == readEmail)) {
			return false
		}
		for _, t := range toks[i+1:] {
			if emailRemarks[t] {
				return false
			}
		}
		return i+1 < len(toks)
	}
	return false
}

// emailRemarks are words after "my email is" that do not begin an
// address.
var emailRemarks = wordSet("not", "wrong", "broken", "working", "fine", "correct", "right", "the", "same", "different",
	"old", "new", "gone", "down", "full", "blocked", "hacked", "invalid", "still", "also", "on", "in", "a", "an")

// scanEmailWord: the words say "email".
func scanEmailWord(toks []string) bool {
	for _, t := range toks {
		if readWords[t] == readEmail {
			return true
		}
	}
	return false
}

// hasTLD: a written address or domain ending with a known top-level
// domain: "john@gmail.com", "gmail.com".
func hasTLD(t string) bool {
	i := strings.LastIndexByte(t, '.')
	return i > 0 && topLevelDomains[t[i+1:]]
}

// NATO spelling alphabet words, read as letters.
var natoWords = wordSet("alpha", "alfa", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
	"juliet", "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra",
	"tango", "uniform", "victor", "whiskey", "whisky", "xray", "x-ray", "yankee", "zulu")

// spellingRule: the text ends with letters being spelled: two letters or more
// ("j o h n", "B R"), "B as in boy" (or "B as in", cut short), NATO words,
// a code mixing letters and digits ("K1A"), or one letter when the caller
// or the agent said "spell".
func spellingRule(toks, prompt []string) bool {
	k := len(toks)
	for k > 0 && fillerWords[toks[k-1]] {
		k--
	}
	if k == 0 {
		return false
	}
	if k >= 3 && isLetter(toks[k-3]) && toks[k-2] == "as" && toks[k-1] == "in" {
		return true
	}
	if alnumCode(toks[k-1]) {
		return true
	}
	letters, asIn, i := 0, false, k
	for i > 0 {
		t := toks[i-1]
		switch {
		case i >= 4 && isLetter(toks[i-4]) && toks[i-3] == "as" && toks[i-2] == "in":
			letters++
			asIn = true
			i -= 4
			continue
		case isLetter(t) || natoWords[t]:
			letters++
			i--
			continue
		}
		break
	}
	if letters >= 2 || asIn {
		return true
	}
	return letters == 1 && findContext(toks[:i], prompt).kind == readSpell
}

// alnumCode: a token mixing letters and digits, as in a postcode or a booking
// code ("k1a", "ab123"); not an ordinal ("5th"), a time ("5pm") or a
// decade ("90s").
func alnumCode(t string) bool {
	if isOrdinal(t) {
		return false
	}
	letters, digits := 0, 0
	for _, r := range t {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case unicode.IsLetter(r):
			letters++
		default:
			return false
		}
	}
	if letters == 0 || digits == 0 {
		return false
	}
	for _, suf := range []string{"am", "pm", "s", "k", "g", "d"} {
		if d, ok := strings.CutSuffix(t, suf); ok && digitCount(d) == len(d) {
			return false
		}
	}
	return letters+digits >= 3
}

// introRule: the caller has just announced what they will read out: "my
// number is", "it's" (after the agent asked for one), "call me at", "it's
// spelled", "area code".
func introRule(toks, prompt []string) (EndpointReason, bool) {
	k := len(toks) - 1
	for k > 0 && fillerWords[toks[k]] {
		k--
	}
	t := toks[k]
	before := toks[:k]
	switch {
	case readWords[t] == readSpell && t != "letter" && t != "letters":
		return EndpointSpelling, true
	case t == "code" && k > 0 && toks[k-1] == "area", t == "extension", t == "ext":
		return EndpointDigits, true
	case t == "at":
		c := findContext(before, prompt)
		if c.kind == readPhone || c.kind == readEmail {
			return kindReason(c.kind), true
		}
		return "", false
	case copulaWords[t]:
		// "my number is"; not "yes it is", which ends an answer.
		if c := findContext(before, nil); c.kind != readNone && (k == 0 || !pronounWords[toks[k-1]]) {
			return kindReason(c.kind), true
		}
		return "", false
	case strings.HasSuffix(t, "'s"):
		stem := strings.TrimSuffix(t, "'s")
		if stem == "it" || stem == "that" || stem == "here" {
			break // "it's…": the agent's question may say what
		}
		if c := findContext(append(before[:len(before):len(before)], stem), nil); c.kind != readNone {
			return kindReason(c.kind), true
		}
		return "", false
	default:
		return "", false
	}
	if c := findContext(before, prompt); c.kind != readNone {
		return kindReason(c.kind), true
	}
	return "", false
}

// Words after which a sentence goes on.
var (
	fillerWords = wordSet("um", "umm", "uh", "uhh", "uhm", "er", "erm", "hmm", "hm", "ah", "eh", "mmm")

	unfinishedEnds = wordSet(
		// Conjunctions and subordinators.
		"and", "but", "or", "nor", "because", "cause", "'cause", "cuz", "if", "whether", "unless", "until", "till",
		"although", "than", "whereas", "plus",
		// Prepositions that do not end a phrase.
		"to", "for", "of", "with", "from", "into", "onto", "about", "at", "as", "like", "between", "versus", "vs",
		"via", "towards", "toward", "without", "including", "regarding", "during", "among",
		// Articles and possessives.
		"the", "a", "an", "my", "your", "our", "their", "its", "every", "very",
		// Half a verb.
		"gonna", "wanna", "gotta",
		// Contractions that cannot end a sentence.
		"it's", "that's", "there's", "here's", "what's", "who's", "where's", "how's", "i'm", "you're", "we're",
		"they're", "he's", "she's", "i'll", "you'll", "we'll", "they'll", "he'll", "she'll", "i'd", "you'd",
		"we'd", "they'd", "i've", "you've", "we've", "they've", "let's",
	)

	// Endings of two or three words: a dangling clause, thinking aloud.
	unfinishedPhrases = wordSet("i mean", "kind of", "sort of", "let me see", "let me think", "let's see",
		"let me check", "let me look", "let me find", "hold on", "one second", "one sec", "just a second",
		"just a moment", "give me a second", "give me a sec", "i was wondering", "i'm wondering", "i'm calling",
		"i am calling", "i was calling", "i wanted", "i want", "i need", "i think", "i was thinking",
		"i was hoping", "i'm looking", "i'm trying", "going to", "you know what", "what i", "and then")

	// "so" ends "I think so", "if so", "an hour or so".
	soEnds = wordSet("think", "guess", "hope", "believe", "suppose", "said", "say", "says", "told", "do", "does", "did",
		"if", "why", "not", "even", "ever", "so", "really", "or", "is", "was", "am", "are", "be")

	// Subjects that end a sentence only after a verb ("so do I").
	subjectWords = wordSet("i", "we", "they", "he", "she")
	auxWords     = wordSet("do", "does", "did", "am", "are", "is", "was", "were", "can", "could", "will", "would", "shall",
		"should", "have", "has", "had", "may", "might", "must", "than")

	// A copula ends a sentence after a pronoun ("yes it is"), not after a
	// noun ("the problem is").
	copulaWords  = wordSet("is", "was", "are", "were")
	pronounWords = wordSet("it", "that", "this", "he", "she", "there", "here", "who", "what", "which", "where", "how", "why", "one", "they", "we", "you", "i", "so")
)

// unfinishedWords: the words end where a sentence goes on.
func unfinishedWords(toks []string) bool {
	n := len(toks)
	t := toks[n-1]
	prev := ""
	if n >= 2 {
		prev = toks[n-2]
	}
	switch {
	case fillerWords[t]:
		return true
	case t == "so":
		return !soEnds[prev]
	case subjectWords[t]:
		return !auxWords[prev]
	case copulaWords[t]:
		return !pronounWords[prev]
	case unfinishedEnds[t]:
		return true
	}
	return n >= 2 && unfinishedPhrases[prev+" "+t] ||
		n >= 3 && unfinishedPhrases[toks[n-3]+" "+prev+" "+t] ||
		n >= 4 && unfinishedPhrases[strings.Join(toks[n-4:], " ")]
}

// Short complete answers; an answer made of up to three of them ("yes,
// that's right, thanks") is short.
var shortPhrases = wordSet(
	"yes", "yeah", "yep", "yup", "yea", "ya", "no", "nope", "nah", "okay", "ok", "sure", "thanks", "correct",
	"right", "exactly", "absolutely", "definitely", "certainly", "alright", "fine", "great", "perfect", "cool",
	"good", "bye", "goodbye", "hello", "hi", "hey", "please", "maybe", "wrong", "incorrect", "nothing", "none",
	"agreed", "indeed", "gotcha", "awesome", "excellent", "wonderful", "done", "uh-huh", "mm-hmm", "mhm", "yes please",
	"thank you", "thank you very much", "thanks so much", "thank you so much", "thanks a lot", "that's right",
	"that is right", "that's correct", "that is correct", "that's it", "that's all", "that's fine",
	"that's good", "that's great", "that works", "of course", "all right", "sounds good", "got it", "no thanks",
	"no thank you", "not really", "not yet", "not at all", "i do", "i don't", "i am", "i'm not", "i did",
	"i didn't", "i have", "i haven't", "i can", "i can't", "i will", "i won't", "it is", "it isn't", "it does",
	"it doesn't", "go ahead", "i don't know", "not sure", "i'm not sure", "i'm sure", "i think so",
	"i guess so", "i hope so", "i don't think so", "of course not", "no problem", "you bet", "for sure",
	"see you", "good bye", "no way", "very good", "that's true", "true", "false", "you too", "same",
	"me too", "neither", "both", "either",
)

// shortAnswer: the whole text is one to three short answers, six words at
// most.
func shortAnswer(toks []string) bool {
	if len(toks) > 6 {
		return false
	}
	phrases := 0
	for i := 0; i < len(toks); {
		n := 0
		for l := min(4, len(toks)-i); l >= 1; l-- {
			if shortPhrases[strings.Join(toks[i:i+l], " ")] {
				n = l
				break
			}
		}
		if n == 0 {
			return false
		}
		i += n
		phrases++
	}
	return phrases <= 3
}

// loneNumber: the whole text is one number said as a quantity ("three",
// "forty two", "12", "a hundred"), perhaps after a lead-in ("about ten").
// A numeral of three digits or more may be the first group of a phone
// number ("415"): not short.
func loneNumber(toks []string, en bool) bool {
	start, end := numberRun(toks, en)
	if start == end || end != len(toks) || !onlyLeadIns(toks[:start]) {
		return false
	}
	parts := numberParts(toks[start:end], en)
	return !digitByDigit(parts) && (len(parts) > 1 || !isNumeral(parts[0]) || digitCount(parts[0]) <= 2)
}

// set makes a set of words.
func wordSet(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}
