package benchproc

import (
	"context"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// Host describes the machine a report was made on: OS, architecture, CPUs
// and their model, Go version, load average and the commit checked out.
func Host(ctx context.Context) map[string]string {
	env := map[string]string{
		"goos": runtime.GOOS, "goarch": runtime.GOARCH, "ncpu": strconv.Itoa(runtime.NumCPU()),
		"go": runtime.Version(), "loadavg": LoadAvg(),
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				env["cpu"] = strings.TrimSpace(v)
				break
			}
		}
	}
	if out, err := exec.CommandContext(ctx, "git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		env["commit"] = strings.TrimSpace(string(out))
	}
	return env
}

// AppendFile appends text to the file at path, creating it: the drivers'
// benchstat files grow by one run at a time.
func AppendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LoadAvg returns the first three fields of /proc/loadavg: the machine is
// shared, and others' load skews every figure.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// DirBytes sums the disk space allocated to the regular files under dir,
// as du does: Badger preallocates and memory-maps files whose apparent
// size is far larger than what they hold.
func DirBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				if st, ok := info.Sys().(*syscall.Stat_t); ok {
					n += st.Blocks * 512
				} else {
					n += info.Size()
				}
			}
		}
		return nil
	})
	return n
}

// NextCursor finds the rel="next" link in Link header values, Sentry's
// way: `<URL>; rel="next"; results="true"; cursor="C"`. It returns the
// link's cursor (its cursor parameter, else the URL's) and whether that
// page has results.
func NextCursor(values []string) (string, bool) {
	for _, v := range values {
		for _, link := range splitLinks(v) {
			params := make(map[string]string)
			var target string
			for i, part := range strings.Split(link, ";") {
				part = strings.TrimSpace(part)
				if i == 0 {
					target = strings.Trim(part, "<>")
					continue
				}
				k, val, _ := strings.Cut(part, "=")
				params[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(val), `"`)
			}
			if params["rel"] != "next" {
				continue
			}
			c, ok := params["cursor"]
			if !ok {
				if u, err := url.Parse(target); err == nil {
					c = u.Query().Get("cursor")
				}
			}
			return c, params["results"] == "true" && c != ""
		}
	}
	return "", false
}

// splitLinks splits a Link header value at the commas between links,
// leaving commas inside <URL> alone.
func splitLinks(v string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range v {
		switch r {
		case '<':
			depth++
		case '>':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(v[start:i]))
				start = i + 1
			}
		}
	}
	if s := strings.TrimSpace(v[start:]); s != "" {
		out = append(out, s)
	}
	return out
}
