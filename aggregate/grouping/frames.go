package grouping

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// frameKinds are the hash tags of a frame's values, indexed by
// 4*location + 2*function + context line, where location is 0 (none),
// 1 (module) or 2 (filename): constant strings, so that no allocation is
// needed.
var frameKinds = [...]string{"", "c", "n", "nc", "m", "mc", "mn", "mnc", "f", "fc", "fn", "fnc"}

// platformOf is the frame's platform, else the event's.
func platformOf(f *Frame, evPlatform string) string {
	if f.Platform != "" {
		return f.Platform
	}
	return evPlatform
}

// isJSFamily mirrors Sentry's get_behavior_family_for_platform == "javascript".
func isJSFamily(p string) bool { return p == "javascript" || p == "node" }

// isNativeFamily mirrors Sentry's "native" behaviour family.
func isNativeFamily(p string) bool {
	switch p {
	case "objc", "cocoa", "swift", "native", "c":
		return true
	}
	return false
}

// usesContextLine lists the platforms whose source is trusted for grouping.
func usesContextLine(p string) bool {
	switch p {
	case "javascript", "node", "python", "php", "ruby":
		return true
	}
	return false
}

// hasURLOrigin mirrors Sentry's has_url_origin.
func hasURLOrigin(path string, filesCountAsURLs bool) bool {
	switch {
	case path == "":
		return false
	case strings.HasPrefix(path, "http:"), strings.HasPrefix(path, "https:"),
		strings.HasPrefix(path, "applewebdata:"), strings.HasPrefix(path, "blob:"):
		return true
	case strings.HasPrefix(path, "file:"):
		return filesCountAsURLs
	}
	return false
}

// isRecursion mirrors Sentry's comparison of a frame with the one before it.
func isRecursion(f, prev *Frame) bool {
	return prev != nil && f.AbsPath == prev.AbsPath && f.Package == prev.Package &&
		f.Module == prev.Module && f.Filename == prev.Filename && f.Function == prev.Function &&
		f.Lineno == prev.Lineno && f.Colno == prev.Colno
}

// frameComponent fills c for frame f (Sentry's frame:v1 strategy) as the
// system variant sees it, and sets c.inApp. Its values (module, else
// filename; function; context line; those that contribute) are appended to
// vals, which is returned. No regular expressions run here: frames are the
// hot path.
func frameComponent(c *Component, vals []string, f, prev *Frame, evPlatform string) []string {
	p := platformOf(f, evPlatform)
	js := isJSFamily(p)
	c.inApp = frameInApp(f, p)
	start, kind := len(vals), 0

	// Location: module takes precedence over the filename.
	if mod, ok := moduleValue(f, p); ok {
		vals = append(vals, mod)
		kind = 4
	} else if name, ok := filenameValue(f); ok {
		vals = append(vals, name)
		kind = 8
	}

	// Function.
	fn := f.Function
	if p == "csharp" && f.RawFunction != "" {
		fn = f.RawFunction
	}
	if fn == "" {
		fn = f.RawFunction
	}
	fn = strings.TrimSpace(fn)
	lowQuality := false
	if js {
		// The frame-level checks look at raw_function first, as Sentry does.
		jf := f.RawFunction
		if jf == "" {
			jf = f.Function
		}
		jf = afterLast(jf, '.')
		fn = afterLast(fn, '.')
		switch {
		case jf == "" || jf == "?" || jf == "<anonymous function>" || jf == "<anonymous>" ||
			jf == "Anonymous function" || strings.HasSuffix(jf, "/<"):
			fn = ""
		}
		if jf == "eval" {
			lowQuality = true
		}
		switch f.AbsPath {
		case "[native code]", "native code", "eval code", "<anonymous>":
			lowQuality = true
		}
	} else if fn != "" {
		fn = cleanFunction(fn, p)
	}
	if fn != "" {
		vals = append(vals, fn)
		kind += 2
	}

	// Context line.
	if f.ContextLine != "" && usesContextLine(p) {
		line := collapseSpace(f.ContextLine)
		switch {
		case line == "":
		case len(f.ContextLine) > 120 && utf8.RuneCountInString(f.ContextLine) > 120:
		case js && f.Function == "" && hasURLOrigin(f.AbsPath, true):
		default:
			vals = append(vals, line)
			kind++
		}
	}

	c.Values = vals[start:len(vals):len(vals)]
	c.kinds = frameKinds[kind]
	c.Contributes = len(c.Values) > 0
	switch {
	case len(c.Values) == 0:
		c.Hint = hintNoValues
	case lowQuality:
		c.Contributes = false
		c.Hint = hintLowQualityJS
	case isRecursion(f, prev):
		c.Contributes = false
		c.Hint = hintRecursion
	}
	return vals
}

// moduleValue returns the module as it contributes, if it does.
func moduleValue(f *Frame, p string) (string, bool) {
	m := f.Module
	if m == "" {
		return "", false
	}
	switch p {
	case "javascript":
		if strings.IndexByte(m, '/') >= 0 && f.AbsPath != "" && strings.HasSuffix(f.AbsPath, m) {
			return "", false // a bad javascript module that merely repeats the path
		}
	case "java":
		if strings.Contains(m, "$$Lambda$") {
			return "", false
		}
		for _, pre := range [...]string{"sun.reflect.GeneratedMethodAccessor", "jdk.internal.reflect.GeneratedMethodAccessor"} {
			if strings.HasPrefix(m, pre) {
				return pre, true
			}
		}
	}
	return m, true
}

// filenameValue returns the lower-cased basename of filename (else abs_path)
// when it contributes.
func filenameValue(f *Frame) (string, bool) {
	name := f.Filename
	if name == "" {
		name = f.AbsPath
	}
	if name == "" || hasURLOrigin(f.AbsPath, false) {
		return "", false
	}
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.ToLower(name)
	if name == "" || name == "<anonymous>" || name == "[native code]" {
		return "", false
	}
	return name, true
}

// cleanFunction applies Sentry's per-platform function clean-ups; it returns
// "" when the function must not contribute.
func cleanFunction(fn, p string) string {
	switch {
	case p == "ruby":
		if strings.HasPrefix(fn, "block ") {
			return "block"
		}
		return trimErbSuffix(fn)
	case p == "php":
		if strings.HasPrefix(fn, "[Anonymous") || strings.HasPrefix(fn, "class@anonymous\x00") {
			return ""
		}
		if strings.HasPrefix(fn, "class@anonymous") {
			if i := strings.LastIndex(fn, "::"); i >= 0 {
				return fn[i+2:]
			}
		}
	case p == "java":
		if strings.HasPrefix(fn, "lambda$") {
			return ""
		}
	case isNativeFamily(p):
		if fn == "<redacted>" || fn == "<unknown>" {
			return ""
		}
	case p == "go":
		return goClosure(fn)
	}
	return fn
}

// goClosure turns the compiler's name of a Go closure into one that does
// not depend on inlining or on the closure's rank: "outer.inner.func4"
// (inner inlined into outer) and "inner.func1" both become "inner.func".
// Other names are returned as they are. (Sentry has no such rule; without
// it the same error from a function inlined at two call sites makes two
// issues, as the sentry-go test here showed.)
func goClosure(fn string) string {
	end := len(fn) // fn[:end] is fn without its trailing closure parts
	for {
		dot := strings.LastIndexByte(fn[:end], '.')
		if !isFuncN(fn[dot+1 : end]) {
			break
		}
		if dot < 0 {
			return fn // nothing but closure parts
		}
		end = dot
	}
	if end == len(fn) {
		return fn
	}
	start := strings.LastIndexByte(fn[:end], '.') + 1
	if strings.HasPrefix(fn[end:], ".func") {
		return fn[start : end+len(".func")] // a substring: no allocation
	}
	return fn[start:end] + ".func" // "outer.2" (a bare number)
}

// isFuncN reports whether s is "funcN" or a bare number (nested closures
// are named outer.func1.2).
func isFuncN(s string) bool {
	s = strings.TrimPrefix(s, "func")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// trimErbSuffix removes a generated "__1234_5678" erb template suffix
// (Sentry: `__\d{4,}_\d{4,}$`).
func trimErbSuffix(fn string) string {
	i := len(fn)
	d2 := 0
	for i > 0 && fn[i-1] >= '0' && fn[i-1] <= '9' {
		i--
		d2++
	}
	if d2 < 4 || i == 0 || fn[i-1] != '_' {
		return fn
	}
	i--
	d1 := 0
	for i > 0 && fn[i-1] >= '0' && fn[i-1] <= '9' {
		i--
		d1++
	}
	if d1 < 4 || i < 2 || fn[i-2:i] != "__" {
		return fn
	}
	return fn[:i-2]
}

func afterLast(s string, sep byte) string {
	if i := strings.LastIndexByte(s, sep); i >= 0 {
		return s[i+1:]
	}
	return s
}

// collapseSpace is " ".join(s.split()) without allocating when s is already
// collapsed.
func collapseSpace(s string) string {
	// Indentation is the common case: trimming it needs no allocation.
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	clean := true
	prevSpace := true // leading space counts as not clean
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ' ' < c && c < utf8.RuneSelf {
			prevSpace = false // printable ASCII: the common case, checked first
			continue
		}
		if c >= utf8.RuneSelf {
			clean = false
			break
		}
		sp := c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1f)
		if sp && (c != ' ' || prevSpace) {
			clean = false
			break
		}
		prevSpace = sp
	}
	if clean && !prevSpace {
		return s
	}
	if clean && s == "" {
		return ""
	}
	// One pass, one allocation: Python's str.split() then " ".join.
	var b strings.Builder
	b.Grow(len(s))
	pending := false
	for _, r := range s {
		if isPySpace(r) {
			pending = b.Len() > 0
			continue
		}
		if pending {
			b.WriteByte(' ')
			pending = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isPySpace is Python's str.isspace for one rune.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// frameInApp decides whether a frame is in-app. An explicit in_app wins.
// When it is unset, frames from dependencies or the standard library are
// system frames and everything else is app code (Sentry would treat unset
// as system; our SDK-agnostic default keeps the app variant usable for
// SDKs that never set in_app).
func frameInApp(f *Frame, p string) bool {
	if f.InApp != nil {
		return *f.InApp
	}
	return !looksLikeSystem(f, p)
}

// looksLikeSystem is a cheap path/module heuristic, no regexp.
func looksLikeSystem(f *Frame, p string) bool {
	path := f.AbsPath
	if path == "" {
		path = f.Filename
	}
	for _, s := range [...]string{path, f.Module, f.Package} {
		if s == "" {
			continue
		}
		if strings.Contains(s, "node_modules") || strings.Contains(s, "site-packages") ||
			strings.Contains(s, "dist-packages") || strings.Contains(s, "/vendor/") ||
			strings.Contains(s, `\vendor\`) || strings.HasPrefix(s, "vendor/") ||
			strings.Contains(s, "third_party") {
			return true
		}
	}
	switch {
	case strings.HasPrefix(path, "node:") || strings.HasPrefix(path, "internal/"):
		return true // Node.js core
	case strings.HasPrefix(path, "/usr/lib/") || strings.HasPrefix(path, "/usr/local/lib/") ||
		strings.Contains(path, "/lib/python"):
		return true
	case strings.HasPrefix(path, "/usr/local/go/src/") || strings.HasPrefix(path, "/usr/lib/go/src/") ||
		strings.Contains(path, "/go/pkg/mod/"):
		return true // GOROOT or the Go module cache
	}
	m := f.Module
	switch p {
	case "go":
		switch m {
		case "runtime", "testing", "reflect", "syscall", "net/http", "sync", "os", "fmt":
			return true
		}
		return strings.HasPrefix(m, "runtime/") || strings.HasPrefix(m, "internal/")
	case "java":
		return strings.HasPrefix(m, "java.") || strings.HasPrefix(m, "javax.") ||
			strings.HasPrefix(m, "sun.") || strings.HasPrefix(m, "jdk.") || strings.HasPrefix(m, "kotlin.")
	}
	return false
}
