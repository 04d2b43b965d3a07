// Package benchproc runs the server under test for the benchmark drivers
// (statsdbench, sentrybench, issuelist): it starts the process with its
// output in a log file, waits for its readiness URL, notices when it exits,
// stops it, and reads its CPU time and memory from /proc. It also holds
// what the drivers share about the host and the API: the load average, the
// disk a store takes, and the next page of a Sentry list.
package benchproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// ErrNotReady is returned by WaitReady when the process did not become
// ready.
var ErrNotReady = errors.New("benchproc: server not ready")

// Process is one running server.
type Process struct {
	Cmd *exec.Cmd
	// Log holds the process' stdout and stderr.
	Log    *os.File
	name   string
	exited chan error
}

// Start starts bin with args in its own process group, its output going to
// a new file at logPath. name names it in errors.
func Start(name, bin string, args []string, logPath string) (*Process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p := &Process{Cmd: exec.Command(bin, args...), Log: logFile, name: name, exited: make(chan error, 1)}
	p.Cmd.Stdout = logFile
	p.Cmd.Stderr = logFile
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.Cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { p.exited <- p.Cmd.Wait() }()
	return p, nil
}

// Pid returns the process id.
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// Alive returns an error if the process has exited.
func (p *Process) Alive() error {
	select {
	case err := <-p.exited:
		p.exited <- err
		return fmt.Errorf("%s exited: %v (see %s)", p.name, err, p.Log.Name())
	default:
		return nil
	}
}

// WaitReady polls url with client until it answers 200, the process
// exits, ctx ends or timeout passes.
func (p *Process) WaitReady(ctx context.Context, client *http.Client, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if resp, err := client.Get(url); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if err := p.Alive(); err != nil {
			return fmt.Errorf("%w: %v", ErrNotReady, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("%w: %s did not answer 200 on %s within %v (see %s)", ErrNotReady, p.name, url, timeout, p.Log.Name())
}

// Stop ends the process (SIGTERM, then SIGKILL after 15 s) and closes its
// log.
func (p *Process) Stop() {
	if p.Alive() == nil {
		p.Cmd.Process.Signal(syscall.SIGTERM)
		var err error
		select {
		case err = <-p.exited:
		case <-time.After(15 * time.Second):
			p.Cmd.Process.Kill()
			err = <-p.exited
		}
		p.exited <- err // so that Alive keeps reporting the exit
	}
	p.Log.Close()
}

// FreePort returns a loopback port that was free for TCP (and, with udp,
// also for UDP) a moment ago.
func FreePort(udp bool) (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		if !udp {
			l.Close()
			return port, nil
		}
		pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		l.Close()
		if err == nil {
			pc.Close()
			return port, nil
		}
	}
	return 0, errors.New("benchproc: no free port")
}

// Stats are the resource figures of a process read from /proc.
type Stats struct {
	CPU time.Duration // user + system time
	RSS int64         // VmRSS in bytes
	HWM int64         // VmHWM (peak RSS) in bytes
}

// clockTick is USER_HZ, the unit of utime and stime in /proc/PID/stat; it is
// 100 on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// Read reads the Stats of process pid.
func Read(pid int) (Stats, error) {
	var st Stats
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return st, err
	}
	if st.CPU, err = ParseStatCPU(stat); err != nil {
		return st, err
	}
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return st, err
	}
	st.RSS = StatusBytes(status, "VmRSS:")
	st.HWM = StatusBytes(status, "VmHWM:")
	return st, nil
}

// ParseStatCPU returns utime + stime from the contents of /proc/PID/stat.
func ParseStatCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("benchproc: malformed /proc/PID/stat")
	}
	// After "pid (comm)": field 3 (state) is fields[0], so utime (14) and
	// stime (15) are fields[11] and fields[12].
	f := bytes.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, errors.New("benchproc: short /proc/PID/stat")
	}
	u, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	k, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(u+k) * clockTick, nil
}

// StatusBytes returns a "Key:  123 kB" field of /proc/PID/status in bytes.
func StatusBytes(status []byte, key string) int64 {
	for line := range bytes.SplitSeq(status, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte(key)); ok {
			f := bytes.Fields(rest)
			if len(f) == 0 {
				return 0
			}
			n, _ := strconv.ParseInt(string(f[0]), 10, 64)
			if len(f) > 1 && string(f[1]) == "kB" {
				n *= 1024
			}
			return n
		}
	}
	return 0
}

// MachineCPU is the machine's CPU time from /proc/stat, over all CPUs, in
// clock ticks: Idle counts idle and iowait, Total everything.
type MachineCPU struct {
	Idle, Total uint64
}

// IdleSince returns the fraction of the machine's CPU time that was idle
// between earlier and m (0 when no time passed).
func (m MachineCPU) IdleSince(earlier MachineCPU) float64 {
	if m.Total <= earlier.Total {
		return 0
	}
	return float64(m.Idle-earlier.Idle) / float64(m.Total-earlier.Total)
}

// ReadMachineCPU reads the machine's CPU time. A benchmark that is to run
// flat out should leave little of it idle: idle CPU means the load did not
// keep the machine busy (too few connections for the latency, say).
func ReadMachineCPU() (MachineCPU, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return MachineCPU{}, err
	}
	return ParseProcStat(b)
}

// ParseProcStat parses the first ("cpu ") line of /proc/stat: user nice
// system idle iowait irq softirq steal (guest time is already in user).
func ParseProcStat(stat []byte) (MachineCPU, error) {
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return MachineCPU{}, errors.New("benchproc: malformed /proc/stat")
	}
	var m MachineCPU
	for i, s := range f[1:9] {
		n, err := strconv.ParseUint(string(s), 10, 64)
		if err != nil {
			return MachineCPU{}, fmt.Errorf("benchproc: /proc/stat: %w", err)
		}
		if m.Total+n < m.Total {
			return MachineCPU{}, errors.New("benchproc: /proc/stat: counters overflow")
		}
		m.Total += n
		if i == 3 || i == 4 { // idle, iowait
			m.Idle += n
		}
	}
	return m, nil
}
