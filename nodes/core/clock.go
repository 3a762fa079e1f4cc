package core

import "time"

// now is the clock of the nodes that read the time (delay, schedule, Retry-After dates); tests replace it to
// get exact, repeatable times.
var now = time.Now
