package tasks

import (
	"crypto/rand"
	"sync"
	"time"
)

// idAlphabet is Crockford's base32 in lower case: ascending in ASCII, so
// ids sort by time, and valid in ref names.
const idAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// idLen is 10 characters of milliseconds and 16 of randomness (80 bits).
const idLen = 26

// idSource makes task ids that sort in the order this process made them,
// even within one millisecond.
type idSource struct {
	mu   sync.Mutex
	ms   int64
	rand [16]byte // one base32 digit per byte
}

func (s *idSource) next(now time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := now.UnixMilli()
	if ms > s.ms {
		s.ms = ms
		var b [16]byte
		_, _ = rand.Read(b[:]) // never fails (crypto/rand)
		for i := range b {
			s.rand[i] = b[i] & 31
		}
	} else {
		// Same (or an earlier) millisecond: count up from the last id.
		for i := len(s.rand) - 1; i >= 0; i-- {
			s.rand[i] = (s.rand[i] + 1) & 31
			if s.rand[i] != 0 {
				break
			}
		}
	}
	var out [idLen]byte
	t := uint64(s.ms)
	for i := 9; i >= 0; i-- {
		out[i] = idAlphabet[t&31]
		t >>= 5
	}
	for i, d := range s.rand {
		out[10+i] = idAlphabet[d]
	}
	return string(out[:])
}

// validID reports whether id could be a task id, so that a user's input
// never names a ref outside the tasks.
func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') || c == 'i' || c == 'l' || c == 'o' || c == 'u' {
			return false
		}
	}
	return true
}
