package ui

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"sync"
	"time"
)

const (
	// cookieName is the session cookie's name.
	cookieName = "telltale_session"
	// csrfHeader carries the session's CSRF token on state-changing
	// requests; the app reads the token from its page.
	csrfHeader = "X-CSRF-Token"
)

// session is one signed-in browser.
type session struct {
	csrf    string
	expires time.Time
}

func (s *session) csrfMatches(tok []byte) bool {
	return len(tok) > 0 && subtle.ConstantTimeCompare(tok, []byte(s.csrf)) == 1
}

// sessions holds the sessions in memory, keyed by the SHA-256 of their
// cookie value, so that a lookup's timing says nothing about the value and
// the map holds no usable secret. A restart signs everyone out.
type sessions struct {
	ttl   time.Duration
	limit int
	now   func() time.Time // time.Now; tests change it

	mu sync.Mutex
	m  map[[sha256.Size]byte]*session
}

func newSessions(ttl time.Duration, limit int) *sessions {
	return &sessions{ttl: ttl, limit: limit, now: time.Now, m: map[[sha256.Size]byte]*session{}}
}

// create starts a session and returns its cookie value.
func (ss *sessions) create() []byte {
	id := []byte(rand.Text() + rand.Text()) // 2×128 bits
	s := &session{csrf: rand.Text() + rand.Text(), expires: ss.now().Add(ss.ttl)}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.sweepLocked() // sign-ins are rare: a scan each is cheap
	for len(ss.m) >= ss.limit {
		var oldest [sha256.Size]byte
		var at time.Time
		for k, v := range ss.m {
			if at.IsZero() || v.expires.Before(at) {
				oldest, at = k, v.expires
			}
		}
		delete(ss.m, oldest)
	}
	ss.m[sha256.Sum256(id)] = s
	return id
}

// sweepLocked drops expired sessions; ss.mu is held.
func (ss *sessions) sweepLocked() {
	now := ss.now()
	for k, v := range ss.m {
		if !now.Before(v.expires) {
			delete(ss.m, k)
		}
	}
}

// get returns the live session of cookie value id.
func (ss *sessions) get(id []byte) (*session, bool) {
	if len(id) == 0 {
		return nil, false
	}
	k := sha256.Sum256(id)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.m[k]
	if !ok {
		return nil, false
	}
	if !ss.now().Before(s.expires) {
		delete(ss.m, k)
		return nil, false
	}
	return s, true
}

// delete ends the session of cookie value id.
func (ss *sessions) delete(id []byte) {
	k := sha256.Sum256(id)
	ss.mu.Lock()
	delete(ss.m, k)
	ss.mu.Unlock()
}

// count returns the number of sessions held, expired or not.
func (ss *sessions) count() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.m)
}
