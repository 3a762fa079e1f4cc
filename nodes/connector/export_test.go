package connector

import "time"

// SetTokenClock moves a token source's clock, so tests can reach a token's renewal time without waiting.
func SetTokenClock(s *TokenSource, now func() time.Time) { s.now = now }
