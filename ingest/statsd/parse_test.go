package statsd

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestParseFloat checks the fast path against strconv.ParseFloat, bit for
// bit, on hand-picked and random decimals.
func TestParseFloat(t *testing.T) {
	inputs := []string{
		"0", "-0", "+0", "1", "-1", "+1", ".5", "5.", "-.5", "0.1", "0.3", "1.7976931348623157",
		"9007199254740992", "9007199254740993", "1234567890123456789", "12345678901234567890",
		"0.0000000000000000000001", "0.00000000000000000000001", "123456.7890123456789",
		"", ".", "-", "+", "1..2", "1.2.3", "1e3", "0x10", "NaN", "inf", "1_0", " 1", "1 ",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		if rng.IntN(3) == 0 {
			b.WriteString(string("+-"[rng.IntN(2)]))
		}
		for range rng.IntN(12) {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		if rng.IntN(2) == 0 {
			b.WriteByte('.')
			for range rng.IntN(25) {
				b.WriteByte(byte('0' + rng.IntN(10)))
			}
		}
		inputs = append(inputs, b.String())
	}
	for _, in := range inputs {
		got, err := parseFloat([]byte(in))
		want, wantErr := strconv.ParseFloat(in, 64)
		if (err != nil) != (wantErr != nil) || math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("parseFloat(%q): got %v, %v, want %v, %v", in, got, err, want, wantErr)
		}
	}
}
