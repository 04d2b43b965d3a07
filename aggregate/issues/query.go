package issues

import (
	"cmp"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/telltale-dev/telltale/storage"
)

// Project is one project: its ingest keys and rate limit.
type Project struct {
	ID       uint32   `json:"id"`
	Slug     string   `json:"slug"`
	Name     string   `json:"name"`
	Platform string   `json:"platform"`
	Keys     []string `json:"keys"`
	// RateLimit is the events per second the project may send (0 = no limit).
	RateLimit int       `json:"rateLimit"`
	Created   time.Time `json:"created"`
}

// HasKey reports whether key is one of the project's ingest keys, in
// constant time per key.
func (p *Project) HasKey(key string) bool {
	ok := 0
	for _, k := range p.Keys {
		ok |= subtle.ConstantTimeCompare([]byte(k), []byte(key))
	}
	return ok == 1
}

// NewKey returns a new random ingest key (32 hex digits, as Sentry's).
func NewKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// EnsureProjects creates or updates the projects of the configuration; with
// none configured and none stored, it creates the default project (id 1,
// slug "default") with a new key. It returns the projects created.
func (t *Tracker) EnsureProjects(cfg []Project) ([]Project, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var created []Project
	put := func(p *Project) error {
		data, err := json.Marshal(p)
		if err != nil {
			return err
		}
		if err := t.db.PutProject(p.ID, data); err != nil {
			return err
		}
		t.projects[p.ID] = p
		return nil
	}
	for _, c := range cfg {
		p := c
		old, ok := t.projects[p.ID]
		if ok {
			p.Created = old.Created
			if len(p.Keys) == 0 {
				p.Keys = old.Keys
			}
		} else {
			p.Created = time.Now().UTC()
			if len(p.Keys) == 0 {
				p.Keys = []string{NewKey()}
			}
			created = append(created, p)
		}
		if p.Name == "" {
			p.Name = p.Slug
		}
		if err := put(&p); err != nil {
			return nil, fmt.Errorf("issues: project %d: %w", p.ID, err)
		}
	}
	if len(t.projects) == 0 {
		p := Project{ID: 1, Slug: "default", Name: "default", Keys: []string{NewKey()}, Created: time.Now().UTC()}
		if err := put(&p); err != nil {
			return nil, fmt.Errorf("issues: default project: %w", err)
		}
		created = append(created, p)
	}
	return created, nil
}

// Projects returns every project, by id.
func (t *Tracker) Projects() []Project {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]Project, 0, len(t.projects))
	for _, p := range t.projects {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b Project) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Project returns the project with id.
func (t *Tracker) Project(id uint32) (Project, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	p, ok := t.projects[id]
	if !ok {
		return Project{}, false
	}
	return *p, true
}

// ProjectBySlug returns the project with slug.
func (t *Tracker) ProjectBySlug(slug string) (Project, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, p := range t.projects {
		if p.Slug == slug {
			return *p, true
		}
	}
	return Project{}, false
}

// Filter selects issues. Zero fields select everything.
type Filter struct {
	Projects     []uint32
	Statuses     []string
	Levels       []string
	Environments []string
	Releases     []string
	// Tags are tag key/value pairs every selected issue has seen.
	Tags []Tag
	// Text is matched, case-insensitively, against title and culprit.
	Text string
	// Since and Until select the issues with events in [Since, Until]:
	// first seen ≤ Until and last seen ≥ Since.
	Since, Until time.Time
}

// Sort orders of List, as Sentry names them.
const (
	SortDate = "date" // last seen, newest first
	SortNew  = "new"  // first seen, newest first
	SortFreq = "freq" // events, most first
	SortUser = "user" // users, most first
)

// List returns the issues f selects, in order: copies of the limit of them
// from offset on, and how many there are in all. Only the page is copied,
// so a list over many issues costs a filter and a sort of pointers.
func (t *Tracker) List(f Filter, order string, offset, limit int) ([]Issue, int) {
	text := strings.ToLower(f.Text)
	key := func(is *Issue) int64 {
		switch order {
		case SortNew:
			return is.FirstSeen.UnixMilli()
		case SortFreq:
			return int64(is.Count)
		case SortUser:
			return int64(is.UserCount)
		default:
			return is.LastSeen.UnixMilli()
		}
	}
	// The sort key is computed once per issue and sorted beside the id,
	// without following pointers into the issues (scattered in memory).
	type keyed struct {
		key int64
		id  uint64
		is  *Issue
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	sel := make([]keyed, 0, len(t.issues))
	for _, is := range t.issues {
		if f.match(is, text) {
			sel = append(sel, keyed{key(is), is.ID, is})
		}
	}
	slices.SortFunc(sel, func(a, b keyed) int {
		if c := cmp.Compare(b.key, a.key); c != 0 {
			return c
		}
		return cmp.Compare(b.id, a.id)
	})
	page := sel[min(offset, len(sel)):min(offset+limit, len(sel))]
	out := make([]Issue, len(page))
	for i, k := range page {
		// A list shows no tag breakdown: leave out the largest part.
		out[i] = copyIssue(k.is, false)
	}
	return out, len(sel)
}

func (f *Filter) match(is *Issue, text string) bool {
	if len(f.Projects) > 0 && !slices.Contains(f.Projects, is.Project) {
		return false
	}
	if len(f.Statuses) > 0 && !slices.Contains(f.Statuses, is.Status) {
		return false
	}
	if len(f.Levels) > 0 && !slices.Contains(f.Levels, is.Level) {
		return false
	}
	if len(f.Environments) > 0 && !anyIn(f.Environments, is.Environments) {
		return false
	}
	if len(f.Releases) > 0 && !anyIn(f.Releases, is.Releases) {
		return false
	}
	for _, tg := range f.Tags {
		if is.countOf(tg.Key, tg.Value) == 0 {
			return false
		}
	}
	if !f.Since.IsZero() && is.LastSeen.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && is.FirstSeen.After(f.Until) {
		return false
	}
	if text != "" && !strings.Contains(is.lowerText, text) {
		return false
	}
	return true
}

func anyIn(want, have []string) bool {
	for _, w := range want {
		if slices.Contains(have, w) {
			return true
		}
	}
	return false
}

// Environments returns the environments seen in the issues of project,
// sorted (each issue keeps at most 20).
func (t *Tracker) Environments(project uint32) []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	seen := map[string]bool{}
	for _, is := range t.issues {
		if is.Project == project {
			for _, e := range is.Environments {
				seen[e] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for e := range seen {
		out = append(out, e)
	}
	slices.Sort(out)
	return out
}

// Get returns a copy of issue id.
func (t *Tracker) Get(id uint64) (Issue, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	is, ok := t.issues[id]
	if !ok {
		return Issue{}, false
	}
	return copyIssue(is, true), true
}

// SetStatus changes the status of issue id (unresolved, resolved or
// ignored) and stores it.
func (t *Tracker) SetStatus(id uint64, status string) (Issue, error) {
	switch status {
	case StatusUnresolved, StatusResolved, StatusIgnored:
	default:
		return Issue{}, fmt.Errorf("issues: unknown status %q", status)
	}
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	t.mu.Lock()
	is, ok := t.issues[id]
	if !ok {
		t.mu.Unlock()
		return Issue{}, fmt.Errorf("%w: issue %d", ErrNotFound, id)
	}
	prev := *is
	is.Status = status
	switch status {
	case StatusResolved:
		is.ResolvedAt, is.Substatus = time.Now().UTC(), ""
	case StatusIgnored:
		is.Substatus = "archived_forever"
	case StatusUnresolved:
		is.ResolvedAt, is.Substatus = time.Time{}, "ongoing"
	}
	rec := is.record()
	t.mu.Unlock()
	// writeMu keeps commits out until the record is written: no state of
	// this issue is encoded or written meanwhile.
	err := t.db.WriteEvents(nil, []storage.IssueRecord{rec})
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		is.Status, is.Substatus, is.ResolvedAt = prev.Status, prev.Substatus, prev.ResolvedAt
		return Issue{}, err
	}
	if rec.Text != nil {
		is.textUnstored = false
	}
	return copyIssue(is, true), nil
}

// Delete removes issue id with its events.
func (t *Tracker) Delete(id uint64) error {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	t.mu.RLock()
	is, ok := t.issues[id]
	var rec storage.IssueRecord
	if ok {
		rec = storage.IssueRecord{ID: id, Project: is.Project, Hash: hashBytes(is.Hash), LastSeen: is.seenIndexed}
	}
	t.mu.RUnlock()
	if !ok {
		return fmt.Errorf("%w: issue %d", ErrNotFound, id)
	}
	// Readers go on meanwhile; writeMu keeps commits out.
	if err := t.db.DeleteIssue(rec); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	h := rec.Hash
	delete(t.byHash, issueKey{is.Project, h})
	delete(t.issues, id)
	delete(t.deferred, id)
	return nil
}

// StoredEvent is an event read back from storage.
type StoredEvent struct {
	Project uint32
	ID      string // 32 hex digits
	Issue   uint64
	Time    time.Time
	Doc     Doc
}

// Events returns the events of issue id, newest first, older than before
// (zero: no bound), at most limit.
func (t *Tracker) Events(id uint64, before time.Time, limit int) ([]StoredEvent, error) {
	var b int64
	if !before.IsZero() {
		b = before.UnixMilli()
	}
	recs, err := t.db.IssueEvents(id, b, limit, true)
	if err != nil {
		return nil, err
	}
	out := make([]StoredEvent, 0, len(recs))
	for _, r := range recs {
		e, err := t.toStored(r)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Event returns event id (32 hex digits) of project, or an error wrapping
// ErrNotFound when it is not stored.
func (t *Tracker) Event(project uint32, id string) (StoredEvent, error) {
	var b [16]byte
	if n, err := hex.Decode(b[:], []byte(id)); err != nil || n != 16 {
		return StoredEvent{}, fmt.Errorf("%w: event %q", ErrNotFound, id)
	}
	r, err := t.db.Event(project, b)
	if errors.Is(err, storage.ErrNoEvent) {
		return StoredEvent{}, fmt.Errorf("%w: event %s", ErrNotFound, id)
	}
	if err != nil {
		return StoredEvent{}, err // a read error or corruption is not a 404
	}
	return t.toStored(r)
}

// toStored decodes a stored event: a Doc's JSON, or a payload body (see
// appendPayloadBody) through Config.DecodePayload.
func (t *Tracker) toStored(r storage.EventRecord) (StoredEvent, error) {
	e := StoredEvent{Project: r.Project, ID: hex.EncodeToString(r.ID[:]), Issue: r.Issue, Time: time.UnixMilli(r.Time).UTC()}
	if len(r.Body) == 0 || r.Body[0] != payloadBody {
		if err := json.Unmarshal(r.Body, &e.Doc); err != nil {
			return e, fmt.Errorf("issues: event %s: %w", e.ID, err)
		}
		return e, nil
	}
	meta, payload, err := readPayloadBody(r.Body)
	if err != nil {
		return e, fmt.Errorf("issues: event %s: %w", e.ID, err)
	}
	if t.cfg.DecodePayload == nil {
		return e, fmt.Errorf("issues: event %s is stored as its payload, and no payload decoder is configured", e.ID)
	}
	meta.EventID = e.ID
	d, err := t.cfg.DecodePayload(payload, meta)
	if err != nil {
		return e, fmt.Errorf("issues: event %s: %w", e.ID, err)
	}
	e.Doc = *d
	return e, nil
}
