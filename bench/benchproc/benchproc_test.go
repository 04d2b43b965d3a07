package benchproc

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestProcParsers(t *testing.T) {
	for _, c := range []struct {
		stat string
		want time.Duration
	}{
		{"1234 (tell tale) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 8 0 100 0 0\n", 3250 * time.Millisecond},
		{"123 (tell tale) S 1 123 123 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 1000 200", 3 * time.Second},
	} {
		if cpu, err := ParseStatCPU([]byte(c.stat)); err != nil || cpu != c.want {
			t.Errorf("ParseStatCPU = %v, %v; want %v", cpu, err, c.want)
		}
	}
	status := []byte("Name:\ttelltale\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n")
	if got := StatusBytes(status, "VmHWM:"); got != 200<<20 {
		t.Errorf("VmHWM: got %d, want %d", got, 200<<20)
	}
	if got := StatusBytes(status, "VmRSS:"); got != 100<<20 {
		t.Errorf("VmRSS: got %d, want %d", got, 100<<20)
	}
	m, err := ParseProcStat([]byte("cpu  100 5 50 800 45 0 0 0 0 0\ncpu0 50 2 25 400 20 0 0 0 0 0\n"))
	if err != nil || m != (MachineCPU{Idle: 845, Total: 1000}) {
		t.Errorf("ParseProcStat = %+v, %v; want idle 845 of 1000", m, err)
	}
	if got := (MachineCPU{Idle: 1045, Total: 1400}).IdleSince(m); got != 0.5 {
		t.Errorf("IdleSince = %v, want 0.5", got)
	}
	for _, bad := range []string{"", "intr 1 2 3\n", "cpu 1 2 3\n", "cpu 1 2 3 x 5 6 7 8\n", "cpu 18446744073709551615 1 0 0 0 0 0 0\n"} {
		if _, err := ParseProcStat([]byte(bad)); err == nil {
			t.Errorf("ParseProcStat(%q) did not fail", bad)
		}
	}
	if _, err := ReadMachineCPU(); err != nil {
		t.Errorf("ReadMachineCPU: %v", err)
	}
	st, err := Read(os.Getpid())
	if err != nil || st.RSS <= 0 || st.HWM < st.RSS {
		t.Errorf("Read(self) = %+v, %v", st, err)
	}
}

// TestProcess starts a process that never gets ready and one that exits:
// WaitReady reports each, Stop ends the first.
func TestProcess(t *testing.T) {
	dir := t.TempDir()
	p, err := Start("sleep", "sleep", []string{"30"}, filepath.Join(dir, "sleep.log"))
	if err != nil {
		t.Skip("no sleep command:", err)
	}
	if err := p.Alive(); err != nil {
		t.Fatal(err)
	}
	port, err := FreePort(true)
	if err != nil {
		t.Fatal(err)
	}
	err = p.WaitReady(context.Background(), http.DefaultClient, "http://127.0.0.1:"+strconv.Itoa(port)+"/", 100*time.Millisecond)
	if !errors.Is(err, ErrNotReady) {
		t.Errorf("WaitReady with nothing listening = %v, want ErrNotReady", err)
	}
	p.Stop()
	if p.Alive() == nil {
		t.Error("alive after Stop")
	}
	q, err := Start("false", "false", nil, filepath.Join(dir, "false.log"))
	if err != nil {
		t.Skip("no false command:", err)
	}
	if err := q.WaitReady(context.Background(), http.DefaultClient, "http://127.0.0.1:"+strconv.Itoa(port)+"/", 5*time.Second); !errors.Is(err, ErrNotReady) {
		t.Errorf("WaitReady of an exited process = %v, want ErrNotReady", err)
	}
	q.Stop()
}

func TestNextCursor(t *testing.T) {
	const u = "http://127.0.0.1:8080/api/0/organizations/main/issues/?query=a,b&cursor="
	for _, c := range []struct {
		values []string
		want   string
		more   bool
	}{
		{[]string{`<` + u + `0:0:1>; rel="previous"; results="false"; cursor="0:0:1", <` + u + `0:25:0>; rel="next"; results="true"; cursor="0:25:0"`}, "0:25:0", true},
		{[]string{`<` + u + `0:0:1>; rel="previous"; results="true"; cursor="0:0:1", <` + u + `0:50:0>; rel="next"; results="false"; cursor="0:50:0"`}, "0:50:0", false},
		{[]string{`<` + u + `0:0:1>; rel="previous"; results="false"; cursor="0:0:1"`, `<` + u + `0:25:0>; rel="next"; results="true"; cursor="0:25:0"`}, "0:25:0", true},
		{nil, "", false},
	} {
		got, more := NextCursor(c.values)
		if got != c.want || more != c.more {
			t.Errorf("NextCursor(%q) = %q, %v; want %q, %v", c.values, got, more, c.want, c.more)
		}
	}
}

// FuzzProcParsers feeds the /proc parsers arbitrary text: they return an
// error or a consistent result, and never panic.
func FuzzProcParsers(f *testing.F) {
	f.Add([]byte("1234 (tell tale) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 8 0 100 0 0\n"))
	f.Add([]byte("cpu  100 5 50 800 45 0 0 0 0 0\ncpu0 50 2 25 400 20 0 0 0 0 0\n"))
	f.Add([]byte("Name:\ttelltale\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if cpu, err := ParseStatCPU(b); err == nil && cpu < 0 && !bytes.Contains(b, []byte("-")) {
			t.Errorf("ParseStatCPU(%q) = %v from no negative number", b, cpu)
		}
		if m, err := ParseProcStat(b); err == nil && m.Idle > m.Total {
			t.Errorf("ParseProcStat(%q) = %+v: idle above total", b, m)
		}
		StatusBytes(b, "VmRSS:")
	})
}
