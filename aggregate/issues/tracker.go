package issues

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/axiomhq/hyperloglog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/telltale-dev/telltale/aggregate/grouping"
	"github.com/telltale-dev/telltale/storage"
)

// ErrQueueFull is returned by Submit when the commit queue is full: the
// caller answers 429 so that the SDK backs off.
var ErrQueueFull = errors.New("issues: commit queue full")

// ErrClosed is returned by Submit after Close.
var ErrClosed = errors.New("issues: tracker closed")

// ErrNotFound is returned for an issue or project that does not exist.
var ErrNotFound = errors.New("issues: not found")

// Statuses of an issue, as Sentry names them.
const (
	StatusUnresolved = "unresolved"
	StatusResolved   = "resolved"
	StatusIgnored    = "ignored"
)

// Bounds of the per-issue breakdowns, so that an issue's state stays small
// whatever its events carry.
const (
	maxTagKeys = 50
	// maxTagKeyLen and maxTagValueLen are Sentry's bounds on tags
	// (MAX_TAG_KEY_LENGTH, MAX_TAG_VALUE_LENGTH): longer ones stay in the
	// event but are not counted in the breakdown, whose storage keys hold
	// them (Badger refuses keys over 65 000 bytes, which failed the whole
	// commit).
	maxTagKeyLen   = 200
	maxTagValueLen = 200
	// maxReleaseLen and maxEnvironmentLen are Sentry's bounds on release
	// and environment names; longer ones are not kept in the issue state,
	// which every commit rewrites. maxTextLen bounds the title, culprit
	// and metadata value kept there (the event keeps them whole).
	maxReleaseLen     = 200
	maxEnvironmentLen = 64
	maxTextLen        = 1024
	maxTagValues      = 100
	maxListValues     = 20 // releases, environments
	hourlyBuckets     = 24
	dailyBuckets      = 14
	hourMillis        = int64(time.Hour / time.Millisecond)
	dayMillis         = 24 * hourMillis
	otherTagValue     = "(other)"
	defaultBatch      = 1024
	// sketchEvery is how often a changed user sketch is written with its
	// issue. The sketch is 8 KiB once dense; writing it in every commit
	// made most of the bytes written. A crash loses at most this much of
	// the users seen (the count already written stays).
	sketchEvery = 10 * time.Second
	// tagsEvery is how often an issue's changed tag counts are written: a
	// tag count per value made most of the entries of a commit, and a
	// busy issue's were rewritten in every commit (measured: 20 % more
	// events/s when they are not). A crash can lose up to this much of the
	// tag breakdown; the events and the issue's count are always written.
	tagsEvery    = time.Second
	defaultQueue = 8192
)

// maxDeferredWrites bounds the issues one saveDeferred writes, but at
// Close: the first start on a store of earlier versions finds every
// issue's text to write apart, which for a million issues would be one
// write of hundreds of megabytes. A variable for tests.
var maxDeferredWrites = 10_000

// Config holds the settings of a Tracker.
type Config struct {
	// QueueSize bounds the events waiting for their commit; a full queue
	// makes Submit fail with ErrQueueFull. Default 8192.
	QueueSize int
	// MaxBatch bounds the events of one commit. Default 1024.
	MaxBatch int
	// DecodePayload makes the Doc of an event stored as its payload
	// (Incoming.Payload): the same Doc ingest made of it on arrival. It is
	// needed to read such events back; ingest provides it, since decoding
	// the Sentry protocol is ingest's.
	DecodePayload func(payload []byte, meta PayloadMeta) (*Doc, error)
}

// Incoming is one grouped event for Submit. Everything the issue state
// needs (time, level, release, tags, user …) is read from Doc.
type Incoming struct {
	Project uint32
	EventID [16]byte
	Doc     *Doc
	// Group is grouping.Group(Doc.Grouping()).
	Group grouping.Result
	// Payload, when set, is the event's JSON as the SDK sent it, and is
	// what gets stored, with Meta, instead of Doc's encoding: the whole
	// event the SDK sent is kept, and the ingest path skips encoding a
	// document. Doc must then be what Config.DecodePayload makes of the
	// two, though it may leave out what the issue state and grouping do
	// not read (breadcrumbs, request, contexts, extra, frame context and
	// variables). Payload is read only during Submit.
	Payload []byte
	Meta    PayloadMeta
}

// PayloadMeta is what the server decided about an event stored as its
// payload, which the payload alone does not say.
type PayloadMeta struct {
	// EventID is the event's id (the envelope header's, the payload's, or
	// one made up), 32 hex digits. It is the stored event's key and is
	// not written into the body.
	EventID string
	// Timestamp is the event's time: the payload's, or the receive time
	// when it had none or one too far in the future.
	Timestamp time.Time
	// ClientIP is the client's address, for a user whose ip_address is
	// "{{auto}}" ("" otherwise).
	ClientIP string
}

// Issue is the state of one issue. It is stored in the binary records of
// codec.go (the JSON tags read the records of earlier versions).
type Issue struct {
	ID             uint64            `json:"id"`
	Project        uint32            `json:"project"`
	Hash           string            `json:"hash"`
	GroupingConfig string            `json:"groupingConfig"`
	GroupingKind   string            `json:"groupingKind"`
	Variant        string            `json:"variant"`
	Components     []Component       `json:"components"`
	Title          string            `json:"title"`
	Culprit        string            `json:"culprit"`
	Type           string            `json:"type"`
	Metadata       grouping.Metadata `json:"metadata"`
	Level          string            `json:"level"`
	Platform       string            `json:"platform"`
	Logger         string            `json:"logger"`
	Status         string            `json:"status"`
	// Substatus is "new", "ongoing", "regressed", "archived_forever" as
	// Sentry names them.
	Substatus    string    `json:"substatus"`
	ResolvedAt   time.Time `json:"resolvedAt,omitzero"`
	FirstSeen    time.Time `json:"firstSeen"`
	LastSeen     time.Time `json:"lastSeen"`
	Count        uint64    `json:"count"`
	UserCount    uint64    `json:"userCount"`
	Unhandled    bool      `json:"unhandled"`
	FirstRelease string    `json:"firstRelease,omitempty"`
	LastRelease  string    `json:"lastRelease,omitempty"`
	Releases     []string  `json:"releases,omitempty"`
	Environments []string  `json:"environments,omitempty"`
	// Tags counts events by tag key and value (bounded: past the bounds
	// values are counted as "(other)"). Only a copy (Get, List with tags)
	// has it; the tracker's own issue counts in tags.
	Tags map[string]map[string]uint64 `json:"tags,omitempty"`
	// Hourly and Daily count events per hour (the last 24) and per day
	// (the last 14); bucket i covers [Start+i×step, Start+(i+1)×step).
	HourlyStart int64    `json:"hourlyStart"`
	Hourly      []uint64 `json:"hourly"`
	DailyStart  int64    `json:"dailyStart"`
	Daily       []uint64 `json:"daily"`

	users *hyperloglog.Sketch
	// usersDirty is set when users changed since it was last written, at
	// usersSaved.
	usersDirty bool
	usersSaved time.Time
	// usersUncounted is set when users took a user since UserCount was
	// estimated, at usersCounted: a commit estimates it once per issue
	// (countUsers), not apply per event, and past exactUsers at most every
	// tagsEvery.
	usersUncounted bool
	usersCounted   time.Time
	// tags counts events by tag key and value. An event's tag that is
	// already counted costs two map lookups: the counts are pointers, and
	// each marks itself changed.
	tags map[string]map[string]*tagCount
	// changedTags are the tag values counted since the state was last
	// written; allTagsDirty is set when all must be (a legacy record).
	changedTags  []*tagCount
	allTagsDirty bool
	tagsSaved    time.Time
	// staticDirty is set when the static record (encodeStatic) has not
	// been written yet (a legacy record).
	staticDirty bool
	// textDirty is set when the text (encodeText) may have changed since
	// it was written, at textSaved; it is written at most every tagsEvery.
	// textUnstored is set while no text record is stored (a legacy
	// record, which held the text): the next write of the issue's record
	// must write it too.
	textDirty    bool
	textUnstored bool
	textSaved    time.Time
	// seenIndexed is the last seen time (Unix ms) the store's last-seen
	// index holds for the issue, moved at seenSaved. Commits move the
	// index at most every tagsEvery and saveDeferred does the rest: moving
	// it is a delete and a set, which had been two of the five Badger
	// entries an event cost. load repairs what a crash left behind.
	seenIndexed int64
	seenSaved   time.Time
	// lowerText is the lowercased title and culprit the list's text search
	// matches, kept so that a search does not lowercase every issue. It is
	// set under the tracker's write lock (setText); readers only read it.
	lowerText string
}

// record returns the issue's record as every write of it starts: the
// counts (encode), the last-seen index left where it is, and the text
// while no text record is stored (textUnstored: the stored record is an
// earlier version's, which held the text, and writing the counts alone
// would lose it). The caller clears textUnstored once it is written.
func (is *Issue) record() storage.IssueRecord {
	ms := is.LastSeen.UnixMilli()
	rec := storage.IssueRecord{ID: is.ID, Project: is.Project, Hash: hashBytes(is.Hash), LastSeen: ms, PrevLastSeen: ms, Data: is.encode()}
	if is.textUnstored {
		rec.Text = is.encodeText()
	}
	return rec
}

// hasDeferred reports whether some of the issue's state waits for
// saveDeferred to be written.
func (is *Issue) hasDeferred() bool {
	return is.allTagsDirty || len(is.changedTags) > 0 || is.usersDirty || is.usersUncounted || is.staticDirty ||
		is.textDirty || is.textUnstored || is.seenIndexed != is.LastSeen.UnixMilli()
}

// copyText sets the text (encodeText) of is from src.
func (is *Issue) copyText(src *Issue) {
	is.Title, is.Culprit, is.Type, is.Metadata = src.Title, src.Culprit, src.Type, src.Metadata
	is.Level, is.Platform, is.Logger = src.Level, src.Platform, src.Logger
	is.FirstRelease, is.LastRelease, is.Releases, is.Environments = src.FirstRelease, src.LastRelease, src.Releases, src.Environments
}

// setText sets lowerText from the title and culprit.
func (is *Issue) setText() {
	is.lowerText = strings.ToLower(is.Title) + "\x00" + strings.ToLower(is.Culprit)
}

// Component is a grouping component as stored with the issue.
type Component struct {
	ID          string   `json:"id"`
	Values      []string `json:"values"`
	Contributes bool     `json:"contributes"`
	Hint        string   `json:"hint,omitempty"`
}

// issueKey finds an issue by project and grouping hash.
type issueKey struct {
	project uint32
	hash    [16]byte
}

type pending struct {
	in *Incoming
	// value is nil for an event with a payload, which the committer
	// reads in place (in.Payload, until it releases in), or its Doc's JSON;
	// the committer sets it to the stored form (storage.EventRecord.Value:
	// the body compressed). Both are pooled buffers, put back once used.
	value *[]byte
	done  chan result
	// state says who may read in (pendingQueued and the rest): Submit's
	// caller may reuse the memory in's strings share once Submit returns,
	// so an event whose wait ends early is either withdrawn before the
	// committer takes it or waited for until the committer is done with in.
	state atomic.Int32
}

// The states of a pending event.
const (
	pendingQueued    = iota // in the queue
	pendingTaken            // in a commit, which reads in
	pendingReleased         // the commit no longer reads in
	pendingWithdrawn        // its Submit returned first: not to be stored
)

// bodyBufs holds buffers for the JSON of events without a payload and for
// the stored values until they are written (getBodyBuf, putBodyBuf).
var bodyBufs = sync.Pool{New: func() any { return new([]byte) }}

// maxBodyBuf bounds the buffers kept for reuse: most events are a few KB,
// and one 1 MiB event should not pin a megabyte per pooled buffer.
const maxBodyBuf = 64 << 10

func getBodyBuf() *[]byte { return bodyBufs.Get().(*[]byte) }

func putBodyBuf(b *[]byte) {
	if b == nil || cap(*b) > maxBodyBuf {
		return
	}
	*b = (*b)[:0]
	bodyBufs.Put(b)
}

type result struct {
	issue uint64
	err   error
}

// Tracker holds the issue table and commits events. Its methods are
// goroutine-safe.
type Tracker struct {
	cfg Config
	db  *storage.DB
	log *slog.Logger
	// writeEvents is db.WriteEvents; tests replace it to fail a commit.
	writeEvents func([]storage.EventRecord, []storage.IssueRecord) error
	// body is the committer's buffer for the body of an event it
	// compresses (commit); it requires writeMu.
	body []byte

	queue chan *pending
	// closing guards queue against sends after Close.
	closing sync.RWMutex
	closed  bool
	done    chan struct{}

	// writeMu orders the writes of issue state, each from its encoding
	// to its return: a commit's, a status change's, a deletion's and the
	// deferred ones. Without it a status change written during a commit
	// could be overwritten in storage by the commit's older encoding. It
	// is taken before mu, which is not held while a write waits for disk.
	writeMu sync.Mutex

	mu       sync.RWMutex
	issues   map[uint64]*Issue
	byHash   map[issueKey]uint64
	projects map[uint32]*Project
	// deferred holds every issue with writing deferred (hasDeferred):
	// saveDeferred, every tagsEvery, looks at these instead of every
	// issue, under mu (a million issues took it tens of milliseconds).
	deferred map[uint64]*Issue

	committed  *prometheus.CounterVec
	batchSize  prometheus.Histogram
	commitTime prometheus.Histogram
	queueLen   prometheus.GaugeFunc
	issueCount prometheus.GaugeFunc
}

// New returns a Tracker over db with the issues and projects stored there.
// Call Run to start committing, and Close to stop.
func New(cfg Config, db *storage.DB, reg prometheus.Registerer, log *slog.Logger) (*Tracker, error) {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = defaultQueue
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = defaultBatch
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Tracker{
		cfg:         cfg,
		db:          db,
		writeEvents: db.WriteEvents,
		log:         log,
		queue:       make(chan *pending, cfg.QueueSize),
		done:        make(chan struct{}),
		issues:      make(map[uint64]*Issue),
		byHash:      make(map[issueKey]uint64),
		projects:    make(map[uint32]*Project),
		deferred:    make(map[uint64]*Issue),
	}
	if err := t.load(); err != nil {
		return nil, err
	}
	t.committed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "telltale_sentry_events_committed_total",
		Help: "Events written to storage by the group commit, by result (ok, error).",
	}, []string{"result"})
	t.batchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "telltale_sentry_commit_batch_events",
		Help:    "Events per group commit.",
		Buckets: prometheus.ExponentialBuckets(1, 4, 7),
	})
	t.commitTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "telltale_sentry_commit_seconds",
		Help:    "Time of one group commit (apply, encode, durable write).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12),
	})
	t.queueLen = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "telltale_sentry_commit_queue_length",
		Help: "Events waiting for their group commit.",
	}, func() float64 { return float64(len(t.queue)) })
	t.issueCount = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "telltale_sentry_issues",
		Help: "Issues in the issue table.",
	}, func() float64 { t.mu.RLock(); defer t.mu.RUnlock(); return float64(len(t.issues)) })
	if reg != nil {
		for _, c := range []prometheus.Collector{t.committed, t.batchSize, t.commitTime, t.queueLen, t.issueCount} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("issues: cannot register metrics: %w", err)
			}
		}
	}
	for _, r := range []string{"ok", "error"} {
		t.committed.WithLabelValues(r)
	}
	return t, nil
}

// load reads the stored issues and projects into memory.
func (t *Tracker) load() error {
	err := t.db.Issues(func(rec storage.IssueRecord) error {
		is, err := decodeIssue(rec.Data)
		if err != nil {
			return fmt.Errorf("issues: issue %d: %w", rec.ID, err)
		}
		t.issues[is.ID] = is
		return nil
	})
	if err != nil {
		return err
	}
	texts := map[uint64]bool{}
	err = t.db.IssueTexts(func(id uint64, data []byte) error {
		if is := t.issues[id]; is != nil && !is.textUnstored {
			if err := is.decodeText(data); err != nil {
				return fmt.Errorf("issues: text of issue %d: %w", id, err)
			}
			texts[id] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = t.db.IssueStatics(func(id uint64, data []byte) error {
		if is := t.issues[id]; is != nil && !is.staticDirty {
			if err := is.decodeStatic(data); err != nil {
				return fmt.Errorf("issues: issue %d: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for id, is := range t.issues {
		if is.Hash == "" {
			// A commit large enough for Badger to split it into several
			// transactions, cut by a crash, can leave an issue's state
			// without its grouping record. None of its events was
			// acknowledged; the next event of the group starts a new issue.
			t.log.Warn("dropping an issue without its grouping record", "issue", id)
			delete(t.issues, id)
			continue
		}
		t.byHash[issueKey{is.Project, hashBytes(is.Hash)}] = id
	}
	if err := t.loadTags(); err != nil {
		return err
	}
	if err := t.loadSeen(); err != nil {
		return err
	}
	err = t.db.IssueSketches(func(id uint64, data []byte) error {
		if is := t.issues[id]; is != nil {
			if err := is.users.UnmarshalBinary(data); err != nil {
				return fmt.Errorf("issues: user sketch of issue %d: %w", id, err)
			}
			is.usersDirty = false
		}
		return nil
	})
	if err != nil {
		return err
	}
	for id, is := range t.issues {
		if !is.textUnstored && !texts[id] {
			// Written with the issue's first record, so only a crash in a
			// commit Badger split can leave it out: the next event sets it.
			t.log.Warn("issue without its text record", "issue", id)
			is.textDirty = true
		}
		is.setText()
		if is.hasDeferred() {
			t.deferred[id] = is
		}
	}
	return t.db.Projects(func(id uint32, data []byte) error {
		var p Project
		if err := json.Unmarshal(data, &p); err != nil {
			return fmt.Errorf("issues: project %d: %w", id, err)
		}
		t.projects[id] = &p
		return nil
	})
}

// loadSeen reads where the last-seen index has each issue. The index is
// moved lazily, so after a crash it may lag: saveDeferred moves what lags
// within tagsEvery, and an issue with no entry gets one. Entries that are
// left over (of a deleted issue, or two for one issue after a crash in a
// split commit) are removed here.
func (t *Tracker) loadSeen() error {
	var stale []storage.SeenEntry
	err := t.db.IssuesSeen(func(e storage.SeenEntry) error {
		is := t.issues[e.Issue]
		switch {
		case is == nil || is.Project != e.Project:
			stale = append(stale, e)
		case is.seenIndexed == 0 || e.LastSeen == is.LastSeen.UnixMilli():
			if is.seenIndexed != 0 {
				stale = append(stale, storage.SeenEntry{Project: e.Project, LastSeen: is.seenIndexed, Issue: e.Issue})
			}
			is.seenIndexed = e.LastSeen
		default:
			stale = append(stale, e)
		}
		return nil
	})
	if err != nil || len(stale) == 0 {
		return err
	}
	t.log.Info("removing stale last-seen index entries", "entries", len(stale))
	return t.db.DeleteSeen(stale)
}

// hashBytes converts a grouping hash (32 hex digits) to bytes; an invalid
// hash maps to the md5-sized prefix of its text.
func hashBytes(h string) [16]byte {
	var b [16]byte
	if n, err := hex.Decode(b[:], []byte(h)); err != nil || n != 16 {
		copy(b[:], h)
	}
	return b
}

// Submit queues ev for the next group commit and waits until it is durable.
// It fails at once with ErrQueueFull when the queue is full, and with
// ErrClosed after Close. If ctx ends before a commit has taken the event,
// the event is withdrawn and not stored; if after, it may still be.
//
// Neither in nor the memory its strings share is read once Submit has
// returned: the caller may reuse the buffer the event was decoded from in
// place, as the ingest path does.
func (t *Tracker) Submit(ctx context.Context, in *Incoming) (uint64, error) {
	id, err := t.submit(in, ctx.Done(), nil)
	if errors.Is(err, errGaveUp) {
		err = ctx.Err()
	}
	return id, err
}

// SubmitTimeout is Submit with a timeout instead of a context, failing with
// context.DeadlineExceeded once d has passed. It waits on a pooled timer: a
// context.WithTimeout cost four allocations and a timer per event.
func (t *Tracker) SubmitTimeout(in *Incoming, d time.Duration) (uint64, error) {
	tm, _ := timers.Get().(*time.Timer)
	if tm == nil {
		tm = time.NewTimer(d)
	} else {
		tm.Reset(d)
	}
	id, err := t.submit(in, nil, tm.C)
	tm.Stop() // since Go 1.23 no stale tick is left to receive
	timers.Put(tm)
	if errors.Is(err, errGaveUp) {
		err = context.DeadlineExceeded
	}
	return id, err
}

var timers sync.Pool // of *time.Timer, for SubmitTimeout

// errGaveUp is submit's error when done or expired fired first.
var errGaveUp = errors.New("issues: gave up waiting")

// submit is Submit, giving up when done closes or expired fires.
func (t *Tracker) submit(in *Incoming, done <-chan struct{}, expired <-chan time.Time) (uint64, error) {
	// Refuse before encoding the event when the queue is already full:
	// under overload the 429 should cost as little as possible.
	if len(t.queue) == cap(t.queue) {
		return 0, ErrQueueFull
	}
	var buf *[]byte
	if in.Payload == nil {
		// Only an event without a payload (none from ingest) is stored as
		// its document.
		doc, err := json.Marshal(in.Doc)
		if err != nil {
			return 0, fmt.Errorf("issues: cannot encode event: %w", err)
		}
		buf = getBodyBuf()
		*buf = append(*buf, doc...)
	}
	p := &pending{in: in, value: buf, done: make(chan result, 1)}
	t.closing.RLock()
	if t.closed {
		t.closing.RUnlock()
		putBodyBuf(buf)
		return 0, ErrClosed
	}
	select {
	case t.queue <- p:
	default:
		t.closing.RUnlock()
		putBodyBuf(buf)
		return 0, ErrQueueFull
	}
	t.closing.RUnlock()
	select {
	case r := <-p.done:
		return r.issue, r.err
	case <-done:
	case <-expired:
	}
	if !p.state.CompareAndSwap(pendingQueued, pendingWithdrawn) {
		// A commit has the event. Applying it to the issue state is
		// quick, and then in is released: wait for that (rather than for
		// the write to disk, which may be what takes so long).
		for p.state.Load() == pendingTaken {
			time.Sleep(100 * time.Microsecond)
		}
	}
	return 0, errGaveUp
}

// Run commits queued events until Close has been called and the queue is
// drained.
func (t *Tracker) Run() {
	defer close(t.done)
	tick := time.NewTicker(tagsEvery)
	defer tick.Stop()
	batch := make([]*pending, 0, t.cfg.MaxBatch)
	for {
		select {
		case p, ok := <-t.queue:
			if !ok {
				if err := t.saveDeferred(true); err != nil {
					t.log.Error("cannot save tag counts and user sketches", "err", err)
				}
				return
			}
			batch = batch[:0]
			if p.state.CompareAndSwap(pendingQueued, pendingTaken) {
				batch = append(batch, p)
			}
		fill:
			for len(batch) < t.cfg.MaxBatch {
				select {
				case q, ok := <-t.queue:
					if !ok {
						break fill
					}
					if q.state.CompareAndSwap(pendingQueued, pendingTaken) {
						batch = append(batch, q)
					}
				default:
					break fill
				}
			}
			if len(batch) > 0 {
				t.commit(batch)
			}
			clear(batch) // the events are done with: hold none of them
		case <-tick.C:
			if err := t.saveDeferred(false); err != nil {
				t.log.Error("cannot save tag counts and user sketches", "err", err)
			}
		}
	}
}

// Close stops accepting events, commits the queued ones and returns when
// they are written (or ctx ends). Run must be running.
func (t *Tracker) Close(ctx context.Context) error {
	t.closing.Lock()
	if !t.closed {
		t.closed = true
		close(t.queue)
	}
	t.closing.Unlock()
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("issues: queued events not all committed: %w", ctx.Err())
	}
}

// commit applies batch to the issue table, writes it, and answers each
// event. On a write error the touched issues are reloaded from storage (the
// last durable state) and every event of the batch gets the error.
func (t *Tracker) commit(batch []*pending) {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	start := time.Now()
	issueIDs := make([]uint64, len(batch))
	touched := map[uint64]bool{} // issue → created by this commit
	moved := map[uint64]int64{}  // issue → seenIndexed before this commit moved it
	events := make([]storage.EventRecord, 0, len(batch))
	var err error

	// The committer compresses the batch's bodies one after another: the
	// dictionary and the encoder's tables then stay in the CPU's caches.
	// Each request compressing its own body found them evicted by
	// everything else it did: 12 % of the server's CPU in a flood, against
	// 5 µs an event in a loop. A payload is read where the request has it
	// (the event is not released yet), into a body buffer the committer
	// reuses: no copy per waiting event.
	for _, p := range batch {
		body := t.body
		if p.value != nil {
			body = *p.value
		} else {
			body = appendPayloadBody(body[:0], p.in.Meta, p.in.Payload)
			t.body = body
		}
		v := getBodyBuf() // back to the pool once written (below)
		*v = t.db.CompressEvent(*v, body)
		putBodyBuf(p.value)
		p.value = v
	}
	if cap(t.body) > maxBodyBuf {
		t.body = nil // one large event should not pin its size
	}

	t.mu.Lock()
	for i, p := range batch {
		in := p.in
		key := issueKey{in.Project, hashBytes(in.Group.Hash)}
		id, ok := t.byHash[key]
		var is *Issue
		if ok {
			is = t.issues[id]
		} else {
			if id, err = t.db.NextIssueID(); err != nil {
				break
			}
			is = newIssue(id, in)
			t.issues[id] = is
			t.byHash[key] = id
		}
		if _, seen := touched[id]; !seen {
			touched[id] = !ok
		}
		is.apply(in)
		issueIDs[i] = id
		events = append(events, storage.EventRecord{Project: in.Project, ID: in.EventID, Issue: id, Time: in.Doc.Timestamp.UnixMilli(), Value: *p.value})
	}
	var recs []storage.IssueRecord
	if err == nil {
		recs = make([]storage.IssueRecord, 0, len(touched))
		for id, isNew := range touched {
			is := t.issues[id]
			is.countUsers(start, false)
			rec := is.record()
			ms := rec.LastSeen
			if isNew || (is.seenIndexed != ms && start.Sub(is.seenSaved) >= tagsEvery) {
				// PrevLastSeen 0 (a new issue) also writes the hash index.
				moved[id] = is.seenIndexed
				rec.PrevLastSeen, is.seenIndexed, is.seenSaved = is.seenIndexed, ms, start
				if isNew {
					rec.PrevLastSeen = 0
				}
			}
			if isNew || is.allTagsDirty || start.Sub(is.tagsSaved) >= tagsEvery {
				rec.Tags, is.tagsSaved = is.takeTagCounts(), start
			}
			if isNew || is.staticDirty {
				rec.Static, is.staticDirty = is.encodeStatic(), false
			}
			if rec.Text == nil && (isNew || (is.textDirty && start.Sub(is.textSaved) >= tagsEvery)) {
				rec.Text = is.encodeText()
			}
			if rec.Text != nil {
				is.textDirty, is.textUnstored, is.textSaved = false, false, start
			}
			if is.usersDirty && (isNew || start.Sub(is.usersSaved) >= sketchEvery) {
				if rec.Users, err = is.sketch(start); err != nil {
					break
				}
			}
			if is.hasDeferred() {
				t.deferred[id] = is
			}
			recs = append(recs, rec)
		}
	}
	t.mu.Unlock()
	// Nothing below reads the events themselves: their Submits may return.
	for _, p := range batch {
		p.state.Store(pendingReleased)
	}

	if err == nil {
		err = t.writeEvents(events, recs)
	}
	// Badger copies a value into its log or memtable and keeps no
	// reference to it once the write returns.
	for _, p := range batch {
		putBodyBuf(p.value)
		p.value = nil
	}
	if err != nil {
		t.log.Error("cannot commit events", "events", len(batch), "err", err)
		t.mu.Lock()
		for id, v := range moved {
			if is := t.issues[id]; is != nil {
				is.seenIndexed = v // the index did not move
			}
		}
		t.mu.Unlock()
		t.reload(touched)
		t.committed.WithLabelValues("error").Add(float64(len(batch)))
	} else {
		t.committed.WithLabelValues("ok").Add(float64(len(batch)))
	}
	t.batchSize.Observe(float64(len(batch)))
	t.commitTime.Observe(time.Since(start).Seconds())
	for i, p := range batch {
		if err != nil {
			p.done <- result{err: err}
		} else {
			p.done <- result{issue: issueIDs[i]}
		}
	}
}

// loadTags reads the stored tag counts of every issue.
func (t *Tracker) loadTags() error {
	return t.db.IssueTags(func(id uint64, tc storage.TagCount) error {
		is := t.issues[id]
		if is == nil || is.allTagsDirty {
			return nil
		}
		is.tagCount(tc.Key, tc.Value).n = tc.Count
		return nil
	})
}

// exactUsers is the user count up to which every commit estimates an
// issue's users (countUsers).
const exactUsers = 200

// countUsers brings UserCount up to date with the sketch after apply, at
// now: at every commit while the issue has fewer than exactUsers users,
// then at most every tagsEvery (saveDeferred catches up), unless force.
// An estimate walks the whole sketch: it re-merges a sparse one (4 µs at
// 100 users, 80 µs at 3 000) and takes a power of two per register of a
// dense one (630 µs), which a flood's commits, over a hundred a second,
// cannot afford for each issue they touch.
func (is *Issue) countUsers(now time.Time, force bool) {
	if is.usersUncounted && (force || is.UserCount < exactUsers || now.Sub(is.usersCounted) >= tagsEvery) {
		is.UserCount, is.usersUncounted, is.usersCounted = is.users.Estimate(), false, now
	}
}

// sketch returns the user sketch to store, and marks it saved at now.
func (is *Issue) sketch(now time.Time) ([]byte, error) {
	b, err := is.users.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("issues: user sketch of issue %d: %w", is.ID, err)
	}
	is.usersDirty, is.usersSaved = false, now
	return b, nil
}

// saveDeferred writes what the commits deferred (tag counts, user
// sketches and counts, text, last-seen index entries): what is older than
// tagsEvery and sketchEvery, or all of it when force (at Close). It looks
// only at the issues in t.deferred. It runs on the committer's goroutine.
func (t *Tracker) saveDeferred(force bool) error {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	t.mu.Lock()
	now := time.Now()
	var recs []storage.IssueRecord
	var written []*Issue
	for id, is := range t.deferred {
		if t.issues[id] != is {
			delete(t.deferred, id) // deleted, or dropped by a reload
			continue
		}
		if len(recs) == maxDeferredWrites && !force {
			break // the rest on the next tick
		}
		tags := is.allTagsDirty || (len(is.changedTags) > 0 && (force || now.Sub(is.tagsSaved) >= tagsEvery))
		users := is.usersDirty && (force || now.Sub(is.usersSaved) >= sketchEvery)
		ms := is.LastSeen.UnixMilli()
		seen := is.seenIndexed != ms && (force || now.Sub(is.seenSaved) >= tagsEvery)
		text := is.textUnstored || (is.textDirty && (force || now.Sub(is.textSaved) >= tagsEvery))
		count := is.usersUncounted && (force || now.Sub(is.usersCounted) >= tagsEvery)
		if count {
			n := is.UserCount
			is.countUsers(now, true)
			// A new estimate equal to the stored count needs no write.
			count = is.UserCount != n
		}
		if !tags && !users && !seen && !text && !count && !is.staticDirty {
			if !is.hasDeferred() {
				delete(t.deferred, id)
			}
			continue
		}
		rec := is.record()
		if seen {
			rec.PrevLastSeen, is.seenIndexed, is.seenSaved = is.seenIndexed, ms, now
		}
		if tags {
			rec.Tags, is.tagsSaved = is.takeTagCounts(), now
		}
		if users {
			var err error
			if rec.Users, err = is.sketch(now); err != nil {
				t.mu.Unlock()
				return err
			}
		}
		if is.staticDirty {
			rec.Static, is.staticDirty = is.encodeStatic(), false
		}
		if text {
			if rec.Text == nil {
				rec.Text = is.encodeText()
			}
			is.textDirty, is.textUnstored, is.textSaved = false, false, now
		}
		recs = append(recs, rec)
		written = append(written, is)
		if !is.hasDeferred() {
			delete(t.deferred, id)
		}
	}
	t.mu.Unlock()
	if len(recs) == 0 {
		return nil
	}
	err := t.db.WriteEvents(nil, recs)
	if err != nil {
		// Write everything of these issues again next time.
		t.mu.Lock()
		for i, is := range written {
			is.allTagsDirty = is.allTagsDirty || recs[i].Tags != nil
			is.usersDirty = is.usersDirty || recs[i].Users != nil
			is.staticDirty = is.staticDirty || recs[i].Static != nil
			// Part of the write may have landed: the text goes with the
			// next write of the issue's record, whatever that was.
			is.textUnstored = is.textUnstored || recs[i].Text != nil
			if recs[i].PrevLastSeen != recs[i].LastSeen {
				is.seenIndexed = recs[i].PrevLastSeen
			}
			t.deferred[is.ID] = is
		}
		t.mu.Unlock()
	}
	return err
}

// reload restores the issues of a failed commit (touched: issue → created
// by it) from storage: created ones are dropped, the others read back.
func (t *Tracker) reload(touched map[uint64]bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, created := range touched {
		if !created {
			continue
		}
		if is := t.issues[id]; is != nil {
			delete(t.byHash, issueKey{is.Project, hashBytes(is.Hash)})
		}
		delete(t.issues, id)
	}
	// Only the touched issues are read, each by its keys: a scan of every
	// issue's records, under mu, would stall ingest and the API for
	// seconds in a large store, at the moment the disk already fails.
	stored := map[uint64]*Issue{}
	texts := map[uint64]bool{}
	for id, created := range touched {
		if created {
			continue
		}
		data, ok, err := t.db.Issue(id)
		if err != nil || !ok {
			continue
		}
		is, err := decodeIssue(data)
		if err != nil {
			continue
		}
		stored[id] = is
		if text, ok, err := t.db.IssueText(id); err == nil && ok && !is.textUnstored && is.decodeText(text) == nil {
			texts[id] = true
		}
	}
	for id, is := range stored {
		// The sketch in memory may count users of the failed batch: a
		// slight overcount, not worth a read of every stored sketch.
		if old := t.issues[id]; old != nil {
			is.users, is.usersDirty = old.users, true
			// The static part never changes; keep it rather than read it.
			is.Hash, is.GroupingConfig, is.GroupingKind, is.Variant, is.Components = old.Hash, old.GroupingConfig, old.GroupingKind, old.Variant, old.Components
			is.staticDirty = old.staticDirty
			is.seenIndexed, is.seenSaved = old.seenIndexed, old.seenSaved
			is.textSaved = old.textSaved
			if !is.textUnstored && !texts[id] {
				is.copyText(old)
				is.textDirty = true
			}
		}
		is.setText()
		t.issues[id] = is
		if is.hasDeferred() {
			t.deferred[id] = is
		}
	}
	for id, is := range stored {
		if is.allTagsDirty {
			continue
		}
		err := t.db.IssueTagsOf(id, func(tc storage.TagCount) error {
			is.tagCount(tc.Key, tc.Value).n = tc.Count
			return nil
		})
		if err != nil {
			t.log.Error("cannot reload tag counts", "issue", id, "err", err)
		}
	}
}

func newIssue(id uint64, in *Incoming) *Issue {
	g, d := &in.Group, in.Doc
	// The event's strings share its payload's memory (envelope.DecodeEvent):
	// what the issue keeps is cloned, or it would pin a payload per issue.
	is := &Issue{
		ID: id, Project: in.Project, Hash: strings.Clone(g.Hash), GroupingConfig: grouping.ConfigVersion,
		GroupingKind: g.Kind, Variant: strings.Clone(g.Variant),
		Type:     d.typ(), // a constant
		Platform: strings.Clone(d.Platform), Logger: strings.Clone(d.Logger),
		Status: StatusUnresolved, Substatus: "new",
		FirstSeen: d.Timestamp, FirstRelease: strings.Clone(bounded(d.Release, maxReleaseLen)),
		tags:  map[string]map[string]*tagCount{},
		users: hyperloglog.New14(),
	}
	for _, c := range g.Components {
		vals := make([]string, len(c.Values))
		for i, v := range c.Values {
			vals[i] = strings.Clone(v)
		}
		is.Components = append(is.Components, Component{ID: c.ID, Values: vals, Contributes: c.Contributes, Hint: strings.Clone(c.Hint)})
	}
	return is
}

// keep returns v for an issue to keep in place of old: old itself when
// equal, so that an unchanged value costs nothing, else a copy of v (see
// newIssue).
func keep(old, v string) string {
	if old == v {
		return old
	}
	return strings.Clone(v)
}

// apply adds one event to the issue's state. A new event on a resolved
// issue reopens it as regressed.
func (is *Issue) apply(in *Incoming) {
	d := in.Doc
	t := d.Timestamp
	is.Count++
	if t.Before(is.FirstSeen) {
		is.FirstSeen = t
	}
	if !t.Before(is.LastSeen) {
		is.LastSeen = t
		is.textDirty = true
		// Like Sentry, the title, culprit and metadata follow the latest
		// event: its message may have changed within the group.
		g, m := &in.Group, &is.Metadata
		if title, culprit := clip(g.Title), clip(g.Culprit); title != is.Title || culprit != is.Culprit {
			is.Title, is.Culprit = keep(is.Title, title), keep(is.Culprit, culprit)
			is.setText()
		}
		m.Type, m.Value, m.Title = keep(m.Type, g.Metadata.Type), keep(m.Value, clip(g.Metadata.Value)), keep(m.Title, clip(g.Metadata.Title))
		m.Filename, m.Function = keep(m.Filename, g.Metadata.Filename), keep(m.Function, g.Metadata.Function)
		if d.Level != "" {
			is.Level = keep(is.Level, d.Level)
		}
		if r := bounded(d.Release, maxReleaseLen); r != "" {
			is.LastRelease = keep(is.LastRelease, r)
		}
	}
	if is.Status == StatusResolved {
		is.Status, is.Substatus, is.ResolvedAt = StatusUnresolved, "regressed", time.Time{}
	} else if is.Substatus == "new" && is.Count > 1 && t.Sub(is.FirstSeen) > 7*24*time.Hour {
		is.Substatus = "ongoing"
	}
	if d.unhandled() {
		is.Unhandled = true
	}
	if u := d.userKey(); u != "" {
		is.users.Insert([]byte(u))
		is.usersDirty, is.usersUncounted = true, true
	}
	nr, ne := len(is.Releases), len(is.Environments)
	is.Releases = addBounded(is.Releases, bounded(d.Release, maxReleaseLen))
	is.Environments = addBounded(is.Environments, bounded(d.Environment, maxEnvironmentLen))
	if len(is.Releases) != nr || len(is.Environments) != ne {
		is.textDirty = true
	}
	for _, tg := range d.Tags {
		is.countTag(tg.Key, tg.Value)
	}
	// Level, release and environment are tags in Sentry's tag breakdown.
	is.countTag("level", d.Level)
	is.countTag("release", bounded(d.Release, maxReleaseLen))
	is.countTag("environment", bounded(d.Environment, maxEnvironmentLen))
	ms := t.UnixMilli()
	is.HourlyStart, is.Hourly = bump(is.HourlyStart, is.Hourly, ms, hourMillis, hourlyBuckets)
	is.DailyStart, is.Daily = bump(is.DailyStart, is.Daily, ms, dayMillis, dailyBuckets)
}

func (is *Issue) countTag(k, v string) {
	if k == "" || v == "" || len(k) > maxTagKeyLen || len(v) > maxTagValueLen {
		return
	}
	c := is.tags[k][v]
	if c == nil {
		vals, ok := is.tags[k]
		if !ok && len(is.tags) >= maxTagKeys {
			return
		}
		if len(vals) >= maxTagValues {
			v = otherTagValue
		}
		c = is.tagCount(k, v)
	}
	c.n++
	if !c.changed {
		c.changed = true
		is.changedTags = append(is.changedTags, c)
	}
}

// tagCount is an issue's count of one tag value.
type tagCount struct {
	// key and value are the issue's own copies: an event's strings share
	// its payload (see newIssue).
	key, value string
	n          uint64
	changed    bool // in changedTags
}

// tagCount returns the count of tag k=v, adding it (at 0) if needed.
func (is *Issue) tagCount(k, v string) *tagCount {
	if is.tags == nil {
		is.tags = map[string]map[string]*tagCount{}
	}
	vals, ok := is.tags[k]
	if !ok {
		k = strings.Clone(k)
		vals = map[string]*tagCount{}
		is.tags[k] = vals
	}
	c := vals[v]
	if c == nil {
		if ok {
			for _, other := range vals {
				k = other.key // the issue's copy, shared by the key's values
				break
			}
		}
		c = &tagCount{key: k, value: strings.Clone(v)}
		vals[c.value] = c
	}
	return c
}

// countOf returns the number of events with tag k=v.
func (is *Issue) countOf(k, v string) uint64 {
	if c := is.tags[k][v]; c != nil {
		return c.n
	}
	return 0
}

// adoptTags moves the counts of Tags, as a legacy record decodes them,
// into tags.
func (is *Issue) adoptTags() {
	for k, vals := range is.Tags {
		for v, n := range vals {
			is.tagCount(k, v).n = n
		}
	}
	is.Tags = nil
}

// takeTagCounts returns the current counts of the tag values changed since
// the last call (all of them after a legacy load), for writing.
func (is *Issue) takeTagCounts() []storage.TagCount {
	var out []storage.TagCount
	if is.allTagsDirty {
		for _, vals := range is.tags {
			for _, c := range vals {
				out = append(out, storage.TagCount{Key: c.key, Value: c.value, Count: c.n})
			}
		}
	} else {
		for _, c := range is.changedTags {
			if c.n > 0 {
				out = append(out, storage.TagCount{Key: c.key, Value: c.value, Count: c.n})
			}
		}
	}
	for _, c := range is.changedTags {
		c.changed = false
	}
	is.allTagsDirty = false
	clear(is.changedTags) // hold no counts of a deleted issue
	is.changedTags = is.changedTags[:0]
	return out
}

// bounded returns s, or "" when it is longer than n bytes.
func bounded(s string, n int) string {
	if len(s) > n {
		return ""
	}
	return s
}

// clip cuts s to at most maxTextLen bytes, at a character boundary, and
// marks the cut with "…".
func clip(s string) string {
	if len(s) <= maxTextLen {
		return s
	}
	cut := maxTextLen - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func addBounded(list []string, v string) []string {
	if v == "" || slices.Contains(list, v) || len(list) >= maxListValues {
		return list
	}
	return append(list, strings.Clone(v))
}

// bump counts an event at ms in a window of n buckets of step ms that ends
// with the newest bucket, sliding the window forward as time passes.
// Events older than the window are not counted.
func bump(start int64, buckets []uint64, ms, step int64, n int) (int64, []uint64) {
	if len(buckets) != n {
		buckets = make([]uint64, n)
		start = (ms/step - int64(n) + 1) * step
	}
	end := start + int64(n)*step
	if ms >= end {
		shift := (ms-end)/step + 1
		if shift >= int64(n) {
			clear(buckets)
		} else {
			copy(buckets, buckets[shift:])
			clear(buckets[int64(n)-shift:])
		}
		start += shift * step
	}
	if ms >= start {
		buckets[(ms-start)/step]++
	}
	return start, buckets
}

// copyIssue returns a copy of is that shares no mutable state, with its
// tag counts only withTags.
func copyIssue(is *Issue, withTags bool) Issue {
	c := *is
	c.users = nil
	c.Releases = slices.Clone(is.Releases)
	c.Environments = slices.Clone(is.Environments)
	c.Hourly = slices.Clone(is.Hourly)
	c.Daily = slices.Clone(is.Daily)
	c.tags, c.changedTags, c.lowerText = nil, nil, ""
	if !withTags {
		c.Tags = nil
		return c
	}
	c.Tags = make(map[string]map[string]uint64, len(is.tags))
	for k, vs := range is.tags {
		m := make(map[string]uint64, len(vs))
		for v, tc := range vs {
			m[v] = tc.n
		}
		c.Tags[k] = m
	}
	return c
}
