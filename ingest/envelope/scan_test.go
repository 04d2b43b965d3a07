package envelope

import (
	"encoding/json"
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
