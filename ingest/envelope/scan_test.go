package envelope

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestUnquote checks unquote against encoding/json, whose decoding of
// escapes, surrogates and invalid UTF-8 it reproduces.
func TestUnquote(t *testing.T) {
	for _, tok := range []string{
		`""`,
		`"plain"`,
		`"C:\\Users\\app\\x.py"`,
		`"\"\\\/\b\f\n\r\t"`,
		`"\u0000\u001f\u0041\u00e9\u20AC\uFFFF"`,
		`"\ud83d\ude00"`,       // a surrogate pair
		`"\ud83d"`,             // a lone high surrogate
		`"\ude00\ud83d"`,       // a low then a high surrogate
		`"\ud83d\ud83d\ude00"`, // a high surrogate before a pair
		`"\ud83dx\ude00"`,
		`"\ud83d\n"`,
		"\"a\xffb\\n\xc3\"",                   // invalid UTF-8 around an escape
		"\"\xed\xa0\x80\\t\xf0\x9f\x98\x80\"", // an encoded surrogate, a valid rune
		`"é€😀\n"`,
	} {
		var want string
		if err := json.Unmarshal([]byte(tok), &want); err != nil {
			t.Fatalf("json.Unmarshal(%q): %v", tok, err)
		}
		if got := unquote([]byte(tok), true); got != want {
			t.Errorf("unquote(%q) = %q, want %q", tok, got, want)
		}
	}
}

// TestStr checks the string token reader against encoding/json on strings
// built so that escapes, control characters and quotes fall at every
// position of and around the eight-byte words str checks at a time: a
// token is valid, ends where, and has escapes exactly as json.Valid and the
// token's own text say.
func TestStr(t *testing.T) {
	// The bytes next to a quote (0x22) and a backslash (0x5c) catch a
	// word test that borrows across bytes.
	pieces := []string{`\"`, `\\`, `\\\"`, `\/`, `\n`, `\u00e9`, `\u12`, `\x`, "\x01", "\x00", "\x1f", "\t", "\x7f", "é", `"`, "!#", "[]", " "}
	for _, piece := range pieces {
		for pre := 0; pre <= 17; pre++ {
			for post := 0; post <= 9; post++ {
				body := strings.Repeat("a", pre) + piece + strings.Repeat("b", post)
				in := `"` + body + `"` + ` , "next"`
				s := scanner{b: []byte(in)}
				tok, esc, ok := s.str()
				// The first JSON string of in, as encoding/json reads it.
				var want string
				dec := json.NewDecoder(strings.NewReader(in))
				wantOK := dec.Decode(&want) == nil
				if ok != wantOK {
					t.Fatalf("str(%q): ok %v, encoding/json %v", in, ok, wantOK)
				}
				if !ok {
					continue
				}
				if end := int(dec.InputOffset()); s.i != end || string(tok) != in[:end] {
					t.Fatalf("str(%q) ends at %d (%q), encoding/json at %d", in, s.i, tok, end)
				}
				if wantEsc := strings.Contains(string(tok), `\`); esc != wantEsc {
					t.Fatalf("str(%q): escapes %v, want %v", in, esc, wantEsc)
				}
				if got := (&scanner{}).contents(tok, esc); esc && got != want {
					t.Fatalf("str(%q) reads %q, want %q", in, got, want)
				}
			}
		}
	}
	for _, in := range []string{`"`, `"abc`, `"abcdefghijklmnop`, `"abc\`, `"abc\"`, `"abcdefgh\u00`, `x"abc"`} {
		s := scanner{b: []byte(in)}
		if _, _, ok := s.str(); ok {
			t.Errorf("str(%q) accepts an unterminated or absent string", in)
		}
	}
}
