package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The SDK scripts and their installer. install.sh puts @sentry/node (pinned
// in node/package-lock.json) into node/node_modules and python3-sentry-sdk
// (Debian, for /usr/bin/python3) on the system; the tests skip without them.
const (
	sdkInstall = "cmd/telltale/testdata/sdk/install.sh"
	sdkNodeDir = "testdata/sdk/node"
	sdkPyDir   = "testdata/sdk/python"

	// Environment overrides of the interpreters (a missing one: the test
	// skips).
	envNode   = "TELLTALE_TEST_NODE"
	envPython = "TELLTALE_TEST_PYTHON"
)

// sdkEvent is the part of an /api/0/ event the SDK tests check.
type sdkEvent struct {
	GroupID     string `json:"groupID"`
	Platform    string `json:"platform"`
	Level       string `json:"level"`
	Release     string `json:"release"`
	Environment string `json:"environment"`
	User        *struct {
		ID, Email string
	} `json:"user"`
	Tags []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"tags"`
	Entries []struct {
		Type string `json:"type"`
		Data struct {
			Values []struct {
				Type       string `json:"type"`
				Value      string `json:"value"`
				Stacktrace struct {
					Frames []struct {
						Function string `json:"function"`
						Filename string `json:"filename"`
						InApp    *bool  `json:"in_app"`
					} `json:"frames"`
				} `json:"stacktrace"`
			} `json:"values"`
			Formatted string `json:"formatted"`
		} `json:"data"`
	} `json:"entries"`
}

// sdkWant is what one SDK script must have produced.
type sdkWant struct {
	platform, release, tag string
	boomType, boomFunc     string // the error thrown twice from one place
	otherType, otherValue  string // the error of a different type
	payTypes               []string
}

// interpreter returns the interpreter named by env (default def), or skips
// the test saying how to install it.
func interpreter(t *testing.T, env, def, install string) string {
	t.Helper()
	bin := def
	if v := os.Getenv(env); v != "" {
		bin = v
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		t.Skipf("%s not found (%v): %s", bin, err, install)
	}
	return path
}

// sdkEnv is the environment of an SDK script: ours without proxies (the
// SDKs would send through them), no bytecode files in testdata.
func sdkEnv(dsn string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToLower(k) {
		case "http_proxy", "https_proxy", "all_proxy", "no_proxy", "node_options", "sentry_dsn", "sentry_release", "sentry_environment":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "SENTRY_DSN="+dsn, "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost", "PYTHONDONTWRITEBYTECODE=1")
}

// runSDKScript runs bin args in dir with the DSN of m's project 1 and
// fails the test if it does not exit 0 within a minute.
func runSDKScript(t *testing.T, m *Main, dir, bin string, args ...string) {
	t.Helper()
	// Read the script here so that go test's cache sees it change.
	if _, err := os.ReadFile(filepath.Join(dir, args[0])); err != nil {
		t.Fatal(err)
	}
	dsn := "http://" + testKey + "@" + m.HTTPAddr() + "/1"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, dsn)...)
	cmd.Dir = dir
	cmd.Env = sdkEnv(dsn)
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: timed out after %v: %s", bin, strings.Join(args, " "), time.Since(start), out)
	}
	if err != nil {
		t.Fatalf("%s %s: %v: %s", bin, strings.Join(args, " "), err, out)
	}
	if len(out) > 0 {
		t.Logf("%s output: %s", filepath.Base(bin), out)
	}
	t.Logf("%s %s ran in %v", filepath.Base(bin), strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
}

// TestNodeSDK sends errors, a message and a custom fingerprint through the
// real @sentry/node (testdata/sdk/node/send.mjs) and checks the issues.
func TestNodeSDK(t *testing.T) {
	node := interpreter(t, envNode, "node", "install Node.js >= 18 and npm (apt-get install nodejs npm), then run "+sdkInstall)
	if _, err := os.Stat(filepath.Join(sdkNodeDir, "node_modules", "@sentry", "node", "package.json")); err != nil {
		t.Skipf("@sentry/node not installed in %s/node_modules: run %s (npm ci in %s)", sdkNodeDir, sdkInstall, sdkNodeDir)
	}
	m := startSentry(t, t.TempDir())
	runSDKScript(t, m, sdkNodeDir, node, "send.mjs")
	checkSDKIssues(t, m, sdkWant{
		platform: "node", release: "shop-node@1.2.3", tag: "node",
		boomType: "Error", boomFunc: "charge",
		otherType: "TypeError", otherValue: "reading 'host'",
		payTypes: []string{"Error", "RangeError"},
	})
}

// TestPythonSDK sends errors, a message and a custom fingerprint through
// the real sentry-python 1.x of Debian (testdata/sdk/python/send.py, run by
// /usr/bin/python3, where python3-sentry-sdk installs) and checks the
// issues.
func TestPythonSDK(t *testing.T) {
	py := interpreter(t, envPython, "/usr/bin/python3", "run "+sdkInstall+" (apt-get install python3-sentry-sdk)")
	if out, err := exec.Command(py, "-c", "import sentry_sdk").CombinedOutput(); err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		t.Skipf("python3-sentry-sdk not installed for %s (%s): run %s (apt-get install python3-sentry-sdk)",
			py, lines[len(lines)-1], sdkInstall)
	}
	m := startSentry(t, t.TempDir())
	runSDKScript(t, m, sdkPyDir, py, "send.py")
	checkSDKIssues(t, m, sdkWant{
		platform: "python", release: "shop-python@1.2.3", tag: "python",
		boomType: "ValueError", boomFunc: "charge",
		otherType: "KeyError", otherValue: "database",
		payTypes: []string{"ValueError", "TimeoutError"},
	})
}

// checkSDKIssues waits for the 6 events of a send script in 4 issues, then
// checks their grouping, titles, counts, tags, release, environment, user
// and platform.
func checkSDKIssues(t *testing.T, m *Main, w sdkWant) {
	t.Helper()
	var list []apiIssue
	eventually(t, "6 events in 4 issues", func() error {
		list = issueList(t, m, "")
		if total := eventCount(list); total < 6 || len(list) < 4 {
			return fmt.Errorf("%d events in %d issues: %+v", total, len(list), list)
		}
		return nil
	})
	for _, is := range list {
		t.Logf("issue %s: %q culprit %q count %s level %s platform %s", is.ID, is.Title, is.Culprit, is.Count, is.Level, is.Platform)
	}
	defer func() {
		if t.Failed() {
			logGrouping(t, m, list)
		}
	}()
	if len(list) != 4 {
		t.Errorf("%d issues, want 4 (repeated error, %s, message, fingerprint): %+v", len(list), w.otherType, list)
	}
	for _, is := range list {
		if is.Platform != w.platform {
			t.Errorf("issue %q: platform %q, want %q", is.Title, is.Platform, w.platform)
		}
		if is.UserCount != 1 {
			t.Errorf("issue %q: userCount %d, want 1 (alice)", is.Title, is.UserCount)
		}
	}

	// The error raised twice from one place: one issue, two events.
	var boom []apiIssue
	for _, is := range list {
		if strings.Contains(is.Title, "card declined") {
			boom = append(boom, is)
		}
	}
	switch {
	case len(boom) != 1:
		t.Fatalf("%d issues for the error raised twice from one place, want 1: %+v", len(boom), boom)
	case boom[0].Count != "2":
		t.Errorf("repeated error issue: count %q, want \"2\": %+v", boom[0].Count, boom[0])
	}
	b := boom[0]
	if !strings.HasPrefix(b.Title, w.boomType+":") || b.Metadata.Type != w.boomType || !strings.Contains(b.Metadata.Value, "card declined") {
		t.Errorf("repeated error issue: title %q, metadata %+v; want %s: ... card declined", b.Title, b.Metadata, w.boomType)
	}
	if !strings.Contains(b.Culprit, w.boomFunc) || b.Level != "error" || b.Type != "error" {
		t.Errorf("repeated error issue: culprit %q level %q type %q; want the culprit naming %s, level error", b.Culprit, b.Level, b.Type, w.boomFunc)
	}

	// A different error type: its own issue.
	other := findIssue(list, w.otherType)
	if other == nil {
		t.Errorf("no issue titled %s in %+v", w.otherType, list)
	} else if other.Count != "1" || !strings.Contains(other.Title, w.otherValue) || other.Metadata.Type != w.otherType || other.Culprit == "" {
		t.Errorf("%s issue = %+v; want count 1, title with %q, a culprit", w.otherType, *other, w.otherValue)
	}

	// The message.
	msg := findIssue(list, "cache miss for key 42")
	if msg == nil {
		t.Errorf("no issue for the captured message in %+v", list)
	} else if msg.Count != "1" || msg.Level != "warning" {
		t.Errorf("message issue = %+v; want count 1, level warning", *msg)
	}

	// Two errors of different types from two places, one fingerprint.
	pay := 0
	for _, is := range list {
		if strings.Contains(is.Title, "stripe timeout") || strings.Contains(is.Title, "paypal refused") {
			pay++
			if is.Count != "2" {
				t.Errorf("fingerprinted issue %+v; want count 2", is)
			}
			var detail struct {
				Grouping struct{ Kind string } `json:"grouping"`
			}
			apiGet(t, m, "/api/0/issues/"+is.ID+"/", &detail)
			if detail.Grouping.Kind != "custom" {
				t.Errorf("fingerprinted issue grouped by %q, want custom", detail.Grouping.Kind)
			}
		}
	}
	if pay != 1 {
		t.Errorf("%d issues for the custom fingerprint, want 1", pay)
	}

	// Tags, release, environment: on the issue's tag breakdown, in search,
	// and on the stored event.
	var tags []apiTag
	apiGet(t, m, "/api/0/issues/"+b.ID+"/tags/", &tags)
	got := map[string]string{}
	for _, tg := range tags {
		for _, v := range tg.TopValues {
			got[tg.Key] += fmt.Sprintf("%s×%d ", v.Value, v.Count)
		}
	}
	for k, v := range map[string]string{"region": "eu", "sdk_test": w.tag, "release": w.release, "environment": "staging", "level": "error"} {
		if got[k] != v+"×2 " {
			t.Errorf("tag %s of the repeated error: %q, want %s×2 (all: %v)", k, got[k], v, got)
		}
	}
	for q, want := range map[string]int{
		"release:" + w.release: 4, "environment:staging": 4, "environment:production": 0,
		"region:eu": 4, "sdk_test:" + w.tag: 4, "provider:stripe": 1, "card declined": 1,
	} {
		if res := issueList(t, m, q); len(res) != want {
			t.Errorf("query %q: %d issues, want %d", q, len(res), want)
		}
	}

	var ev sdkEvent
	apiGet(t, m, "/api/0/issues/"+b.ID+"/events/latest/", &ev)
	if ev.GroupID != b.ID || ev.Platform != w.platform || ev.Release != w.release || ev.Environment != "staging" || ev.Level != "error" {
		t.Errorf("latest event of the repeated error: group %s platform %q release %q environment %q level %q",
			ev.GroupID, ev.Platform, ev.Release, ev.Environment, ev.Level)
	}
	if ev.User == nil || ev.User.ID != "alice" || ev.User.Email != "alice@example.com" {
		t.Errorf("latest event user = %+v; want alice", ev.User)
	}
	if len(ev.Entries) == 0 || ev.Entries[0].Type != "exception" || len(ev.Entries[0].Data.Values) == 0 {
		t.Fatalf("latest event entries = %+v; want an exception first", ev.Entries)
	}
	ex := ev.Entries[0].Data.Values[len(ev.Entries[0].Data.Values)-1]
	if ex.Type != w.boomType || !strings.Contains(ex.Value, "card declined") {
		t.Errorf("latest event exception %s: %q; want %s: ... card declined", ex.Type, ex.Value, w.boomType)
	}
	var funcs []string
	for _, f := range ex.Stacktrace.Frames {
		funcs = append(funcs, f.Function)
	}
	if fs := strings.Join(funcs, " "); !strings.Contains(fs, w.boomFunc) || !strings.Contains(fs, "checkout") {
		t.Errorf("latest event frames %q; want checkout and %s", fs, w.boomFunc)
	}
	if msg != nil {
		var mev sdkEvent
		apiGet(t, m, "/api/0/issues/"+msg.ID+"/events/latest/", &mev)
		found := false
		for _, e := range mev.Entries {
			found = found || (e.Type == "message" && e.Data.Formatted == "cache miss for key 42")
		}
		if !found || mev.Level != "warning" || mev.Platform != w.platform {
			t.Errorf("message event: level %q platform %q entries %+v", mev.Level, mev.Platform, mev.Entries)
		}
	}
}

// logGrouping logs how each issue was grouped, to compare the payloads of
// events that should have joined.
func logGrouping(t *testing.T, m *Main, list []apiIssue) {
	t.Helper()
	for _, is := range list {
		var detail map[string]any
		apiGet(t, m, "/api/0/issues/"+is.ID+"/", &detail)
		t.Logf("issue %s %q culprit %q count %s grouping %v", is.ID, is.Title, is.Culprit, is.Count, detail["grouping"])
	}
}
