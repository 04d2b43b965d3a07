package issues

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/telltale-dev/telltale/aggregate/grouping"
)

// AppendJSON appends d's JSON to dst: byte for byte what json.Marshal(d)
// writes (TestDocJSON in package ingest checks it on every fixture, and
// FuzzDocJSON on arbitrary events), at a fraction of the cost: encoding
// every event again through reflection took a fifth of ingest's time. Raw
// JSON fields (contexts, extra, data, vars) must hold valid JSON, as the
// decoder that fills them guarantees.
func (d *Doc) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"EventID":`...)
	dst = appendString(dst, d.EventID)
	dst = append(dst, `,"Timestamp":`...)
	dst = appendTime(dst, d.Timestamp)
	for _, f := range [...]struct {
		name string
		v    *string
	}{
		{`,"Platform":`, &d.Platform}, {`,"Level":`, &d.Level}, {`,"Logger":`, &d.Logger},
		{`,"ServerName":`, &d.ServerName}, {`,"Release":`, &d.Release}, {`,"Dist":`, &d.Dist},
		{`,"Environment":`, &d.Environment}, {`,"Transaction":`, &d.Transaction},
		{`,"Message":`, &d.Message}, {`,"LogTemplate":`, &d.LogTemplate}, {`,"LogFormatted":`, &d.LogFormatted},
	} {
		dst = append(dst, f.name...)
		dst = appendString(dst, *f.v)
	}
	dst = append(dst, `,"LogParams":`...)
	dst = appendStrings(dst, d.LogParams)
	dst = append(dst, `,"Fingerprint":`...)
	dst = appendStrings(dst, d.Fingerprint)
	dst = append(dst, `,"Tags":`...)
	dst = appendTags(dst, d.Tags)
	dst = append(dst, `,"User":`...)
	if u := d.User; u == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, `{"ID":`...)
		dst = appendString(dst, u.ID)
		dst = append(dst, `,"Email":`...)
		dst = appendString(dst, u.Email)
		dst = append(dst, `,"Username":`...)
		dst = appendString(dst, u.Username)
		dst = append(dst, `,"IPAddress":`...)
		dst = appendString(dst, u.IPAddress)
		dst = append(dst, `,"Data":`...)
		dst = appendRaw(dst, u.Data)
		dst = append(dst, '}')
	}
	dst = append(dst, `,"Exceptions":`...)
	if d.Exceptions == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range d.Exceptions {
			x := &d.Exceptions[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"Type":`...)
			dst = appendString(dst, x.Type)
			dst = append(dst, `,"Value":`...)
			dst = appendString(dst, x.Value)
			dst = append(dst, `,"Module":`...)
			dst = appendString(dst, x.Module)
			dst = append(dst, `,"Synthetic":`...)
			dst = strconv.AppendBool(dst, x.Synthetic)
			dst = append(dst, `,"Handled":`...)
			if x.Handled == nil {
				dst = append(dst, "null"...)
			} else {
				dst = strconv.AppendBool(dst, *x.Handled)
			}
			dst = append(dst, `,"MechanismType":`...)
			dst = appendString(dst, x.MechanismType)
			dst = append(dst, `,"Frames":`...)
			dst = appendFrames(dst, x.Frames)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"Threads":`...)
	if d.Threads == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range d.Threads {
			t := &d.Threads[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"ID":`...)
			dst = appendString(dst, t.ID)
			dst = append(dst, `,"Name":`...)
			dst = appendString(dst, t.Name)
			dst = append(dst, `,"Crashed":`...)
			dst = strconv.AppendBool(dst, t.Crashed)
			dst = append(dst, `,"Current":`...)
			dst = strconv.AppendBool(dst, t.Current)
			dst = append(dst, `,"Frames":`...)
			dst = appendFrames(dst, t.Frames)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"Breadcrumbs":`...)
	if d.Breadcrumbs == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range d.Breadcrumbs {
			c := &d.Breadcrumbs[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"Timestamp":`...)
			dst = appendTime(dst, c.Timestamp)
			dst = append(dst, `,"Type":`...)
			dst = appendString(dst, c.Type)
			dst = append(dst, `,"Category":`...)
			dst = appendString(dst, c.Category)
			dst = append(dst, `,"Message":`...)
			dst = appendString(dst, c.Message)
			dst = append(dst, `,"Level":`...)
			dst = appendString(dst, c.Level)
			dst = append(dst, `,"Data":`...)
			dst = appendRaw(dst, c.Data)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"Request":`...)
	if r := d.Request; r == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, `{"Method":`...)
		dst = appendString(dst, r.Method)
		dst = append(dst, `,"URL":`...)
		dst = appendString(dst, r.URL)
		dst = append(dst, `,"QueryString":`...)
		dst = appendString(dst, r.QueryString)
		dst = append(dst, `,"Headers":`...)
		dst = appendTags(dst, r.Headers)
		dst = append(dst, `,"Data":`...)
		dst = appendRaw(dst, r.Data)
		dst = append(dst, '}')
	}
	dst = append(dst, `,"Contexts":`...)
	dst = appendRaw(dst, d.Contexts)
	dst = append(dst, `,"Extra":`...)
	dst = appendRaw(dst, d.Extra)
	return append(dst, '}')
}

// appendFrames writes frames with the protocol's names, leaving out empty
// fields (the omitempty tags of grouping.Frame).
func appendFrames(dst []byte, frames []grouping.Frame) []byte {
	if frames == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i := range frames {
		f := &frames[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		n := len(dst)
		for _, s := range [...]struct {
			name string
			v    string
		}{
			{`"filename":`, f.Filename}, {`"abs_path":`, f.AbsPath}, {`"module":`, f.Module},
			{`"package":`, f.Package}, {`"function":`, f.Function}, {`"raw_function":`, f.RawFunction},
			{`"context_line":`, f.ContextLine}, {`"platform":`, f.Platform},
		} {
			if s.v != "" {
				dst = comma(dst, n)
				dst = append(dst, s.name...)
				dst = appendString(dst, s.v)
			}
		}
		if f.InApp != nil {
			dst = comma(dst, n)
			dst = append(dst, `"in_app":`...)
			dst = strconv.AppendBool(dst, *f.InApp)
		}
		if f.Lineno != 0 {
			dst = comma(dst, n)
			dst = append(dst, `"lineno":`...)
			dst = strconv.AppendInt(dst, int64(f.Lineno), 10)
		}
		if f.Colno != 0 {
			dst = comma(dst, n)
			dst = append(dst, `"colno":`...)
			dst = strconv.AppendInt(dst, int64(f.Colno), 10)
		}
		if len(f.PreContext) > 0 {
			dst = comma(dst, n)
			dst = append(dst, `"pre_context":`...)
			dst = appendStrings(dst, f.PreContext)
		}
		if len(f.PostContext) > 0 {
			dst = comma(dst, n)
			dst = append(dst, `"post_context":`...)
			dst = appendStrings(dst, f.PostContext)
		}
		if len(f.Vars) > 0 {
			dst = comma(dst, n)
			dst = append(dst, `"vars":`...)
			dst = appendRaw(dst, f.Vars)
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// comma separates a member from the one before it, unless the object
// (whose members start at n) is still empty.
func comma(dst []byte, n int) []byte {
	if len(dst) > n {
		return append(dst, ',')
	}
	return dst
}

func appendTags(dst []byte, tags []Tag) []byte {
	if tags == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, t := range tags {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"Key":`...)
		dst = appendString(dst, t.Key)
		dst = append(dst, `,"Value":`...)
		dst = appendString(dst, t.Value)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

func appendStrings(dst []byte, list []string) []byte {
	if list == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, s := range list {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s)
	}
	return append(dst, ']')
}

// appendTime writes t as time.Time's MarshalJSON does.
func appendTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string the way encoding/json does with
// HTML escaping on: <, > and & as \u00XX, control characters escaped,
// invalid UTF-8 replaced by U+FFFD, and U+2028, U+2029 escaped.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendRaw writes raw JSON as encoding/json writes a json.RawMessage:
// null when empty, else compacted, with <, >, & and U+2028, U+2029
// escaped. Outside strings only white space is dropped.
func appendRaw(dst []byte, raw json.RawMessage) []byte {
	if raw == nil {
		return append(dst, "null"...)
	}
	inString, escaped := false, false
	start := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '<' || c == '>' || c == '&':
			dst = append(dst, raw[start:i]...)
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			start = i + 1
		case c == 0xE2 && i+2 < len(raw) && raw[i+1] == 0x80 && raw[i+2]&^1 == 0xA8:
			dst = append(dst, raw[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[raw[i+2]&0xF])
			i += 2
			start = i + 1
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			dst = append(dst, raw[start:i]...)
			start = i + 1
		}
	}
	return append(dst, raw[start:]...)
}
