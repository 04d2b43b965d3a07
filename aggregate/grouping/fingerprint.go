package grouping

import (
	"strconv"
	"strings"
)

// fingerprintVariable returns the variable name of a "{{ name }}" entry
// (spaces optional, name without spaces), or "" when entry is a literal.
// Names are matched case-insensitively except for the tag name after
// "tags.".
func fingerprintVariable(entry string) string {
	if len(entry) < 5 || !strings.HasPrefix(entry, "{{") || !strings.HasSuffix(entry, "}}") {
		return ""
	}
	name := strings.TrimFunc(entry[2:len(entry)-2], isPySpace)
	if name == "" || strings.IndexFunc(name, isPySpace) >= 0 || strings.Contains(name, "}}") {
		return ""
	}
	if len(name) > 5 && strings.EqualFold(name[:5], "tags.") {
		if name[:5] == "tags." {
			return name // the usual spelling: no allocation
		}
		return "tags." + name[5:]
	}
	return strings.ToLower(name)
}

// applyFingerprint replaces r.Components with the fingerprint's components
// (Sentry's fingerprinting/utils.py resolve_fingerprint_values).
func (b *builder) applyFingerprint(r *Result, def []Component) {
	ev := b.ev
	fp := ev.Fingerprint
	hasDefault := false
	for _, e := range fp {
		if fingerprintVariable(e) == "default" {
			hasDefault = true
			break
		}
	}
	switch {
	case len(fp) == 1 && hasDefault:
		r.Kind = "default"
		r.Components = def
		return
	case hasDefault:
		r.Kind = "hybrid"
	default:
		r.Kind = "custom"
		r.Variant = "custom-fingerprint"
	}
	var comps []Component
	if n := len(def) + len(fp); b.g != nil && cap(b.g.fpComps) >= n {
		comps = b.g.fpComps[:0]
	} else {
		comps = make([]Component, 0, n)
	}
	for i, e := range fp {
		v := fingerprintVariable(e)
		if v == "default" {
			comps = append(comps, def...)
			continue
		}
		val := e
		if v != "" {
			val = resolveVariable(ev, v, e)
		}
		comps = append(comps, Component{
			ID:          b.fingerprintID(i),
			Values:      b.value(val),
			Contributes: true,
			kinds:       "p",
		})
	}
	if !hasDefault {
		// Show what the default would have been, without letting it count.
		for _, c := range def {
			if c.Contributes {
				c.Contributes = false
				c.Hint = hintCustomFingerprint
			}
			comps = append(comps, c)
		}
	}
	r.Components = comps
	b.fpComps = comps
}

// fingerprintID returns "fingerprint[i]"; a Grouper keeps those it built.
func (b *builder) fingerprintID(i int) string {
	if b.g == nil || i >= maxCachedFingerprintIDs {
		return "fingerprint[" + strconv.Itoa(i) + "]"
	}
	c := &b.g.ids
	for len(c.fingerprint) <= i {
		c.fingerprint = append(c.fingerprint, "fingerprint["+strconv.Itoa(len(c.fingerprint))+"]")
	}
	return c.fingerprint[i]
}

// resolveVariable resolves one fingerprint variable; unknown variables keep
// the entry as written (newstyle:2023-01-11 legacy handling).
func resolveVariable(ev *Event, name, entry string) string {
	switch name {
	case "transaction":
		return orPlaceholder(ev.Transaction, "<no-transaction>")
	case "message":
		m := firstNonEmpty(ev.LogFormatted, ev.Message, ev.LogTemplate)
		if m == "" && len(ev.Exceptions) > 0 {
			m = ev.Exceptions[len(ev.Exceptions)-1].Value
		}
		return orPlaceholder(m, "<no-message>")
	case "type", "error.type":
		if len(ev.Exceptions) > 0 {
			return orPlaceholder(ev.Exceptions[len(ev.Exceptions)-1].Type, "<no-type>")
		}
		return "<no-type>"
	case "value", "error.value":
		if len(ev.Exceptions) > 0 {
			return orPlaceholder(ev.Exceptions[len(ev.Exceptions)-1].Value, "<no-value>")
		}
		return "<no-value>"
	case "function", "stack.function":
		if f := crashFrame(ev, false); f != nil {
			return orPlaceholder(f.Function, "<no-function>")
		}
		return "<no-function>"
	case "path", "stack.abs_path":
		if f := crashFrame(ev, false); f != nil {
			return orPlaceholder(firstNonEmpty(f.AbsPath, f.Filename), "<no-abs-path>")
		}
		return "<no-abs-path>"
	case "stack.filename":
		if f := crashFrame(ev, false); f != nil {
			return orPlaceholder(firstNonEmpty(f.Filename, f.AbsPath), "<no-filename>")
		}
		return "<no-filename>"
	case "module", "stack.module":
		if f := crashFrame(ev, false); f != nil {
			return orPlaceholder(f.Module, "<no-module>")
		}
		return "<no-module>"
	case "package", "stack.package":
		if f := crashFrame(ev, false); f != nil {
			pkg := f.Package
			if i := strings.LastIndexAny(pkg, `/\`); i >= 0 {
				pkg = pkg[i+1:]
			}
			return orPlaceholder(pkg, "<no-package>")
		}
		return "<no-package>"
	case "level":
		return orPlaceholder(ev.Level, "<no-level>")
	case "logger":
		return orPlaceholder(ev.Logger, "<no-logger>")
	}
	if tag, ok := strings.CutPrefix(name, "tags."); ok {
		for _, t := range ev.Tags {
			if t.Key == tag {
				return t.Value
			}
		}
		return "<no-value-for-tag-" + tag + ">"
	}
	return entry
}

func orPlaceholder(s, placeholder string) string {
	if s == "" {
		return placeholder
	}
	return s
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// crashFrame mirrors Sentry's get_crash_frame_from_event_data: the last
// in-app frame of the outermost exception's stack trace (else its last
// frame), falling back to the crashed/current/only thread. With named set,
// frames without a usable function are skipped (the metadata filter).
func crashFrame(ev *Event, named bool) *Frame {
	var frames []Frame
	if n := len(ev.Exceptions); n > 0 {
		frames = ev.Exceptions[n-1].Frames
	}
	if len(frames) == 0 {
		if th := crashThread(ev); th != nil {
			frames = th.Frames
		}
	}
	var def *Frame
	for i := len(frames) - 1; i >= 0; i-- {
		f := &frames[i]
		if named && (f.Function == "" || f.Function == "<redacted>" || f.Function == "<unknown>") {
			continue
		}
		if frameInApp(f, platformOf(f, ev.Platform)) {
			return f
		}
		if def == nil {
			def = f
		}
	}
	return def
}
