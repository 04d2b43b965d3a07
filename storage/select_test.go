package storage_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/telltale-dev/telltale/storage"
	"github.com/telltale-dev/telltale/storage/storagetest"
)

func mustMatcher(t testing.TB, typ storage.MatchType, name, value string) storage.Matcher {
	t.Helper()
	m, err := storage.NewMatcher(typ, name, value)
	if err != nil {
		t.Fatalf("NewMatcher(%v, %q, %q): %v", typ, name, value, err)
	}
	return m
}

func TestSelect(t *testing.T) {
	db := storagetest.OpenTemp(t)
	// Series by short name; "env" is missing on some.
	all := map[string]storage.Labels{
		"upAPI":   lbls("__name__", "up", "env", "prod", "job", "api"),
		"upWEB":   lbls("__name__", "up", "env", "dev", "job", "web"),
		"upDB":    lbls("__name__", "up", "job", "db"),
		"reqAPI":  lbls("__name__", "req", "env", "prod", "job", "api"),
		"reqAPI2": lbls("__name__", "req", "job", "api2"),
		"nl":      lbls("__name__", "nl", "job", "a\nb"),
	}
	ids := map[string]uint64{}
	names := map[uint64]string{}
	for name, ls := range all {
		ids[name] = mustID(t, db, ls)
		names[ids[name]] = name
	}
	type m = storage.Matcher
	eq := func(n, v string) m { return mustMatcher(t, storage.MatchEqual, n, v) }
	ne := func(n, v string) m { return mustMatcher(t, storage.MatchNotEqual, n, v) }
	re := func(n, v string) m { return mustMatcher(t, storage.MatchRegexp, n, v) }
	nre := func(n, v string) m { return mustMatcher(t, storage.MatchNotRegexp, n, v) }

	for _, tc := range []struct {
		name     string
		matchers []m
		want     []string
	}{
		{"equal", []m{eq("__name__", "up")}, []string{"upAPI", "upWEB", "upDB"}},
		{"equal two", []m{eq("__name__", "up"), eq("job", "api")}, []string{"upAPI"}},
		{"equal none", []m{eq("__name__", "nope")}, nil},
		{"equal none then more", []m{eq("__name__", "nope"), re("job", ".*")}, nil},
		{"not equal includes missing label", []m{eq("__name__", "up"), ne("env", "prod")}, []string{"upWEB", "upDB"}},
		{"not equal empty means present", []m{ne("env", "")}, []string{"upAPI", "upWEB", "reqAPI"}},
		{"equal empty means missing", []m{eq("__name__", "up"), eq("env", "")}, []string{"upDB"}},
		{"regexp anchored", []m{re("job", "api")}, []string{"upAPI", "reqAPI"}},
		{"regexp prefix", []m{re("job", "api.*")}, []string{"upAPI", "reqAPI", "reqAPI2"}},
		{"regexp alternation", []m{re("job", "web|db")}, []string{"upWEB", "upDB"}},
		{"regexp dot matches newline", []m{re("job", "a.b")}, []string{"nl"}},
		{"regexp matching empty includes missing", []m{eq("__name__", "up"), re("env", "dev|")}, []string{"upWEB", "upDB"}},
		{"not regexp includes missing", []m{eq("__name__", "up"), nre("env", "pr.*")}, []string{"upWEB", "upDB"}},
		{"not regexp not matching empty", []m{nre("job", "|api.*")}, []string{"upWEB", "upDB", "nl"}},
		{"not regexp dot plus means missing", []m{eq("__name__", "req"), nre("env", ".+")}, []string{"reqAPI2"}},
		{"regexp dot plus means present", []m{re("env", ".+")}, []string{"upAPI", "upWEB", "reqAPI"}},
		{"unknown label equal", []m{eq("nolabel", "x")}, nil},
		{"unknown label not equal", []m{eq("__name__", "req"), ne("nolabel", "x")}, []string{"reqAPI", "reqAPI2"}},
		{"all combined", []m{re("__name__", "up|req"), ne("job", "db"), nre("env", "dev"), re("job", "a.*")}, []string{"upAPI", "reqAPI", "reqAPI2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.Select(tc.matchers...)
			if err != nil {
				t.Fatalf("Select(%v): %v", tc.matchers, err)
			}
			var want []uint64
			for _, n := range tc.want {
				want = append(want, ids[n])
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				var gotNames []string
				for _, id := range got {
					gotNames = append(gotNames, names[id])
				}
				t.Errorf("Select(%v) = %v, want %v", tc.matchers, gotNames, tc.want)
			}
		})
	}

	for _, ms := range [][]m{
		nil,
		{eq("env", "")},
		{re("job", ".*")},
		{ne("job", "api"), nre("env", "prod")},
	} {
		if _, err := db.Select(ms...); !errors.Is(err, storage.ErrEmptyMatchers) {
			t.Errorf("Select(%v) error = %v, want ErrEmptyMatchers", ms, err)
		}
	}
}

func TestNewMatcherErrors(t *testing.T) {
	if _, err := storage.NewMatcher(storage.MatchRegexp, "job", "("); !errors.Is(err, storage.ErrBadMatcher) {
		t.Errorf("bad regexp: %v, want ErrBadMatcher", err)
	}
	if _, err := storage.NewMatcher(storage.MatchType(9), "job", "x"); !errors.Is(err, storage.ErrBadMatcher) {
		t.Errorf("bad type: %v, want ErrBadMatcher", err)
	}
	// A regexp Matcher built as a literal is compiled by Select.
	db := storagetest.OpenTemp(t)
	id := mustID(t, db, lbls("__name__", "up"))
	got, err := db.Select(storage.Matcher{Type: storage.MatchRegexp, Name: "__name__", Value: "u."})
	if err != nil || !slices.Equal(got, []uint64{id}) {
		t.Errorf("Select(literal regexp matcher) = %v, %v; want [%d]", got, err, id)
	}
	if s := mustMatcher(t, storage.MatchNotRegexp, "job", "a|b").String(); s != `job!~"a|b"` {
		t.Errorf("String() = %s", s)
	}
}
