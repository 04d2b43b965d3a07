package grouping

import "strings"

// Limits from Sentry: eventtypes/error.py (type 128, value 1024, title
// value 100) and constants.MAX_CULPRIT_LENGTH (200).
const (
	maxTypeLen       = 128
	maxValueLen      = 1024
	maxTitleValueLen = 100
	maxCulpritLen    = 200
)

// describe fills r.Title, r.Culprit and r.Metadata the way Sentry's
// ErrorEvent / DefaultEvent and get_culprit do.
func describe(ev *Event, r *Result) {
	if n := len(ev.Exceptions); n > 0 {
		main := &ev.Exceptions[n-1]
		md := Metadata{Value: truncateChars(main.Value, maxValueLen)}
		if !main.Synthetic {
			md.Type = truncateChars(orPlaceholder(main.Type, "Error"), maxTypeLen)
		}
		if f := crashFrame(ev, true); f != nil {
			md.Filename = firstNonEmpty(f.Filename, f.AbsPath)
			md.Function = firstNonEmpty(f.Function, f.RawFunction)
		}
		r.Metadata = md
		switch {
		case md.Type != "" && md.Value != "":
			r.Title = md.Type + ": " + truncateChars(firstLine(md.Value), maxTitleValueLen)
		case md.Type != "":
			r.Title = md.Type
		case md.Function != "":
			r.Title = md.Function
		default:
			r.Title = "<unknown>"
		}
		r.Culprit = ev.Transaction
		if r.Culprit == "" {
			r.Culprit = truncateChars(exceptionCulprit(ev), maxCulpritLen)
		}
		return
	}
	title := "<unlabeled event>"
	if m := strings.TrimFunc(firstNonEmpty(ev.LogFormatted, ev.Message, ev.LogTemplate), isPySpace); m != "" {
		title = truncateChars(firstLine(m), maxTitleValueLen)
	}
	r.Metadata = Metadata{Title: title}
	r.Title = title
	r.Culprit = ev.Transaction
}

// exceptionCulprit is Sentry's generate_culprit for exception events.
func exceptionCulprit(ev *Event) string {
	if ev.Exceptions[len(ev.Exceptions)-1].Synthetic {
		return "" // synthetic events get no culprit
	}
	for i := len(ev.Exceptions) - 1; i >= 0; i-- {
		if fr := ev.Exceptions[i].Frames; len(fr) > 0 {
			return stacktraceCulprit(fr, ev.Platform)
		}
	}
	return ""
}

// stacktraceCulprit is Sentry's get_stacktrace_culprit: the most recent
// in-app frame with a culprit, else the most recent system frame's.
func stacktraceCulprit(frames []Frame, platform string) string {
	def, haveDef := "", false
	for i := len(frames) - 1; i >= 0; i-- {
		f := &frames[i]
		p := platformOf(f, platform)
		if frameInApp(f, p) {
			if c := frameCulprit(f, p); c != "" {
				return c
			}
		} else if !haveDef {
			def, haveDef = frameCulprit(f, p), true
		}
	}
	return def
}

// frameCulprit is Sentry's get_frame_culprit.
func frameCulprit(f *Frame, p string) string {
	fn := f.Function
	if fn == "" {
		fn = "?"
	}
	switch p {
	case "objc", "cocoa", "native":
		return fn
	}
	loc := firstNonEmpty(f.Module, f.Filename)
	switch {
	case loc == "":
		return ""
	case isJSFamily(p):
		return fn + "(" + loc + ")"
	}
	return loc + " in " + fn
}

// firstLine is s.splitlines()[0] ("" for "").
func firstLine(s string) string {
	line, _ := splitLine(s)
	return line
}

// truncateChars is Sentry's truncatechars: at most n characters, the last
// three replaced by "..." when s is longer.
func truncateChars(s string, n int) string {
	if len(s) <= n {
		return s
	}
	count := 0
	cut := -1
	for i := range s {
		if count == n-3 {
			cut = i
		}
		count++
		if count > n {
			return s[:cut] + "..."
		}
	}
	return s
}
