package storage

import (
	"errors"
	"fmt"
	"regexp"
)

// ErrEmptyMatchers is returned by Select when no matcher is given or every
// matcher matches the empty string (such as {job=~".*"}): that would select
// every series. Prometheus refuses such selectors the same way.
var ErrEmptyMatchers = errors.New("storage: at least one matcher must not match the empty string")

// ErrBadMatcher is returned for a matcher with an unknown type or a regular
// expression that does not compile.
var ErrBadMatcher = errors.New("storage: bad matcher")

// MatchType is the kind of a label matcher.
type MatchType int

// The matcher types of PromQL.
const (
	// MatchEqual is name="value".
	MatchEqual MatchType = iota
	// MatchNotEqual is name!="value".
	MatchNotEqual
	// MatchRegexp is name=~"regexp".
	MatchRegexp
	// MatchNotRegexp is name!~"regexp".
	MatchNotRegexp
)

// String returns the PromQL operator of t.
func (t MatchType) String() string {
	switch t {
	case MatchEqual:
		return "="
	case MatchNotEqual:
		return "!="
	case MatchRegexp:
		return "=~"
	case MatchNotRegexp:
		return "!~"
	}
	return fmt.Sprintf("MatchType(%d)", int(t))
}

// Matcher selects series by the value of one label, with Prometheus'
// semantics: a series without the label is treated as having it with the
// empty value, so name!="x" and name!~"x" select series without the label,
// and a matcher that matches "" selects series without the label.
//
// Build regexp matchers with NewMatcher, which compiles the expression
// once; Select compiles the expression of a Matcher built otherwise on each
// call.
type Matcher struct {
	// Type is the comparison.
	Type MatchType
	// Name is the label name.
	Name string
	// Value is the value compared with, or the regular expression, which
	// must match the whole value (it is anchored as ^(?s:Value)$).
	Value string

	re *regexp.Regexp
}

// NewMatcher returns a Matcher; for the regexp types it compiles value
// anchored at both ends, as Prometheus does ("^(?s:" + value + ")$").
func NewMatcher(t MatchType, name, value string) (Matcher, error) {
	m := Matcher{Type: t, Name: name, Value: value}
	if err := m.compile(); err != nil {
		return Matcher{}, err
	}
	return m, nil
}

// compile checks m.Type and compiles the regexp of a regexp matcher if it
// is not compiled yet.
func (m *Matcher) compile() error {
	switch m.Type {
	case MatchEqual, MatchNotEqual:
		return nil
	case MatchRegexp, MatchNotRegexp:
		if m.re != nil {
			return nil
		}
		re, err := regexp.Compile("^(?s:" + m.Value + ")$")
		if err != nil {
			return fmt.Errorf("%w: %s%s%q: %w", ErrBadMatcher, m.Name, m.Type, truncate(m.Value), err)
		}
		m.re = re
		return nil
	}
	return fmt.Errorf("%w: unknown type %d", ErrBadMatcher, int(m.Type))
}

// Matches reports whether a label value v satisfies m; "" stands for an
// absent label. A regexp matcher not built by NewMatcher matches nothing.
func (m Matcher) Matches(v string) bool {
	switch m.Type {
	case MatchEqual:
		return v == m.Value
	case MatchNotEqual:
		return v != m.Value
	case MatchRegexp:
		return m.re != nil && m.re.MatchString(v)
	case MatchNotRegexp:
		return m.re != nil && !m.re.MatchString(v)
	}
	return false
}

// String returns m in PromQL form, such as job=~"api|web".
func (m Matcher) String() string {
	return fmt.Sprintf("%s%s%q", m.Name, m.Type, m.Value)
}
