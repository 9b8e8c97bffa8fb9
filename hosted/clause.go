package hosted

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The model's text goes to speech a clause at a time, so that the caller
// hears the start of the answer while the model is still writing it. A
// clause ends at a sentence's end (. ! ? …) followed by a space, at a
// line's end, or — once the text so far holds minClauseWords words — at
// a comma, semicolon, colon or dash followed by a space. Abbreviations
// ("Dr.", "e.g.") and numbers ("3.5") do not end a sentence.
const minClauseWords = 4

// abbreviations do not end a sentence.
var abbreviations = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "dr": true, "prof": true, "sr": true, "jr": true, "st": true,
	"vs": true, "etc": true, "e.g": true, "i.e": true, "approx": true, "no": true, "inc": true, "ltd": true,
	"mt": true, "ave": true, "apt": true,
}

// cutClause returns the longest prefix of text that ends at a clause
// boundary (trimmed), and the rest; "" and text when there is none yet.
func cutClause(text string) (clause, rest string) {
	cut := -1
	for i := 0; i < len(text); {
		r, width := utf8.DecodeRuneInString(text[i:]) // invalid bytes: width 1
		end := i + width
		next, size := utf8.DecodeRuneInString(text[end:])
		if size == 0 {
			break // the boundary's space has not arrived yet
		}
		switch r {
		case '\n':
			cut = end
		case '.', '!', '?', '…':
			if unicode.IsSpace(next) && !(r == '.' && abbreviation(text[:i])) {
				cut = end
			}
		case ',', ';', ':', '—', '–':
			if unicode.IsSpace(next) && len(strings.Fields(text[:i])) >= minClauseWords {
				cut = end
			}
		}
		i = end
	}
	if cut < 0 {
		return "", text
	}
	return strings.TrimSpace(text[:cut]), strings.TrimLeft(text[cut:], " \t\r\n")
}

// abbreviation reports whether the word that ends before the full stop
// is one that a full stop follows without ending the sentence.
func abbreviation(before string) bool {
	i := strings.LastIndexFunc(before, unicode.IsSpace)
	word := strings.ToLower(before[i+1:])
	return abbreviations[word] || len(word) == 1 && unicode.IsLetter(rune(word[0]))
}

// linkRE is a markdown link: its text is spoken, its address is not.
var linkRE = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)

// speakable strips what a model writes for the eye: markdown emphasis,
// headings, list markers, code marks and links' syntax.
func speakable(text string) string {
	if !strings.ContainsAny(text, "*_#`[]>|") && !strings.Contains(text, "\n- ") && !strings.HasPrefix(text, "- ") {
		return text
	}
	var b strings.Builder
	for line := range strings.Lines(text) {
		l := strings.TrimLeft(line, " \t")
		l = strings.TrimLeft(strings.TrimLeft(l, "#>"), " \t")
		for _, marker := range []string{"- ", "* ", "+ "} {
			if strings.HasPrefix(l, marker) {
				l = l[len(marker):]
				break
			}
		}
		b.WriteString(l)
	}
	out := b.String()
	out = linkRE.ReplaceAllString(out, "$1")
	out = strings.NewReplacer("**", "", "__", "", "`", "", "*", "", "|", " ").Replace(out)
	return out
}
