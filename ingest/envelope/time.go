package envelope

import (
	"math"
	"time"
)

// parseRFC3339 parses an RFC 3339 date-time without allocating:
// "YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM]". Like Relay it also accepts a
// missing zone (read as UTC), 't' or ' ' as the separator, 'z', and a zone
// written ±HHMM. Fractions beyond nanoseconds are truncated. The result is in
// UTC.
func parseRFC3339(b []byte) (time.Time, bool) {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	if c := b[10]; c != 'T' && c != 't' && c != ' ' {
		return time.Time{}, false
	}
	year, ok1 := atoiN(b[0:4])
	month, ok2 := atoiN(b[5:7])
	day, ok3 := atoiN(b[8:10])
	hour, ok4 := atoiN(b[11:13])
	minute, ok5 := atoiN(b[14:16])
	sec, ok6 := atoiN(b[17:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 ||
		month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, false
	}
	if day > daysIn(time.Month(month), year) {
		return time.Time{}, false
	}
	i := 19
	nsec := 0
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for i < len(b) && isDigit(b[i]) {
			if i-start < 9 {
				nsec = nsec*10 + int(b[i]-'0')
			}
			i++
		}
		n := i - start
		if n == 0 {
			return time.Time{}, false
		}
		for ; n < 9; n++ {
			nsec *= 10
		}
	}
	offset := 0
	if i < len(b) {
		switch b[i] {
		case 'Z', 'z':
			i++
		case '+', '-':
			z := b[i+1:]
			var hh, mm int
			var okh, okm bool
			switch {
			case len(z) == 5 && z[2] == ':':
				hh, okh = atoiN(z[0:2])
				mm, okm = atoiN(z[3:5])
			case len(z) == 4:
				hh, okh = atoiN(z[0:2])
				mm, okm = atoiN(z[2:4])
			}
			if !okh || !okm || hh > 23 || mm > 59 {
				return time.Time{}, false
			}
			offset = (hh*60 + mm) * 60
			if b[i] == '-' {
				offset = -offset
			}
			i = len(b)
		}
	}
	if i != len(b) {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

// floatTime converts Unix seconds (as sent by @sentry/node) to a time,
// rounded to the microsecond: a float64 near 1.8e9 holds only about seven
// fractional digits, so finer digits are noise. It rejects NaN, infinities,
// negative values and values past year 5000.
func floatTime(f float64) (time.Time, bool) {
	if math.IsNaN(f) || f < 0 || f > 95617584000 {
		return time.Time{}, false
	}
	return time.UnixMicro(int64(math.Round(f * 1e6))).UTC(), true
}

func atoiN(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(m time.Month, year int) int {
	switch m {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}
