package expression

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones must resolve in minimal containers without /usr/share/zoneinfo
)

// Times are time.Time values inside expressions: they compare with < and >, subtract to durations, and
// expose methods such as .Year(). Stringify prints them in RFC 3339. Text without an offset is read in UTC
// unless a time zone name (IANA, such as "Asia/Shanghai") is given, so a flow never depends on the time zone
// of the server it runs on.

// locations caches loaded time zones; loading one parses tzdata.
var locations = newBoundedCache[*time.Location](256)

func loadLocation(name string) (*time.Location, error) {
	return locations.getOrMake(name, func(name string) (*time.Location, error) {
		if name == "Local" {
			return nil, fmt.Errorf("time zone \"Local\" depends on the server; name the zone, such as \"Asia/Shanghai\"")
		}
		loc, err := time.LoadLocation(name)
		if err != nil {
			return nil, fmt.Errorf("unknown time zone %q (want an IANA name such as \"Asia/Shanghai\" or \"UTC\")", name)
		}
		return loc, nil
	})
}

func checkLocation(name string) error {
	_, err := loadLocation(name)
	return err
}

func locationArg(fn string, params []any, i int) (*time.Location, error) {
	if len(params) <= i || params[i] == nil {
		return time.UTC, nil
	}
	name, err := argString(fn, i, params[i])
	if err != nil {
		return nil, err
	}
	loc, err := loadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	return loc, nil
}

// defaultTimeLayouts are tried in order by parseTime when no layout is given. They cover RFC 3339 (WeChat Pay
// v3, most JSON APIs), Alipay's "2006-01-02 15:04:05", dates, slashed dates, HTTP dates and the compact
// forms; all-digit text is handled separately (see parseTimeText).
var defaultTimeLayouts = []string{
	time.RFC3339,
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	time.DateOnly,
	"2006/01/02 15:04:05",
	"2006/01/02 15:04",
	"2006/01/02",
	time.RFC1123Z,
	time.RFC1123,
}

// namedLayouts lets formatTime and parseTime take a layout by name.
var namedLayouts = map[string]string{
	"RFC3339":     time.RFC3339,
	"RFC3339Nano": time.RFC3339Nano,
	"RFC1123":     time.RFC1123,
	"RFC1123Z":    time.RFC1123Z,
	"DateTime":    time.DateTime,
	"DateOnly":    time.DateOnly,
	"TimeOnly":    time.TimeOnly,
}

// friendlyTokens are the layout tokens people know from other tools, translated to Go's reference time. Longer
// tokens come first so YYYY is not read as two YY.
var friendlyTokens = []struct{ token, goLayout string }{
	{"YYYY", "2006"},
	{"SSS", "000"},
	{"YY", "06"},
	{"MM", "01"},
	{"DD", "02"},
	{"HH", "15"},
	{"hh", "03"},
	{"mm", "04"},
	{"ss", "05"},
	{"ZZ", "Z07:00"},
}

var goLayouts = newBoundedCache[string](256)

// goLayout turns a layout name, a friendly layout ("YYYY-MM-DD HH:mm:ss") or a Go layout ("2006-01-02") into a
// Go layout. None of the friendly tokens occurs in Go layouts, so both kinds can be mixed.
func goLayout(layout string) string {
	if l, ok := namedLayouts[layout]; ok {
		return l
	}
	l, _ := goLayouts.getOrMake(layout, func(layout string) (string, error) {
		var b strings.Builder
	scan:
		for i := 0; i < len(layout); {
			for _, t := range friendlyTokens {
				if strings.HasPrefix(layout[i:], t.token) {
					b.WriteString(t.goLayout)
					i += len(t.token)
					continue scan
				}
			}
			b.WriteByte(layout[i])
			i++
		}
		return b.String(), nil
	})
	return l
}

// Unix timestamps below unixMilliThreshold are seconds, from it up to unixMaxMilli milliseconds: 1e11 seconds
// is the year 5138 while 1e11 milliseconds is 1973, so the two ranges cannot be confused for real dates.
const (
	unixMilliThreshold = 1e11
	unixMaxMilli       = 1e14
)

func fromUnixNumber(f float64) (time.Time, bool) {
	switch a := math.Abs(f); {
	case math.IsNaN(f) || a >= unixMaxMilli:
		return time.Time{}, false
	case a >= unixMilliThreshold:
		return time.UnixMilli(int64(math.Round(f))).UTC(), true
	default:
		return unixSeconds(f), true
	}
}

// unixSeconds converts seconds with an optional fraction, as some APIs send 1700000000.123.
func unixSeconds(f float64) time.Time {
	sec := math.Floor(f)
	nsec := math.Round((f - sec) * 1e9)
	return time.Unix(int64(sec), int64(nsec)).UTC()
}

// numberValue reports the value of any Go number type.
func numberValue(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	if n, ok := toInt64(v); ok {
		if _, isString := v.(string); !isString {
			return float64(n), true
		}
	}
	return 0, false
}

// parseTimeText parses s with layouts, or with the default layouts and the Unix-timestamp rules when layouts is
// empty. Layouts without an offset are read in loc.
func parseTimeText(s string, layouts []string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if len(layouts) > 0 {
		for _, l := range layouts {
			if t, err := time.ParseInLocation(goLayout(l), s, loc); err == nil {
				return t, nil
			}
		}
		if len(layouts) == 1 {
			return time.Time{}, fmt.Errorf("%q does not match layout %q", s, layouts[0])
		}
		return time.Time{}, fmt.Errorf("%q matches none of the layouts %q", s, layouts)
	}
	if s != "" && allDigits(strings.TrimPrefix(s, "-")) {
		switch len(s) {
		case 14: // 20240315143000, Alipay's and WeChat Pay v2's compact form
			if t, err := time.ParseInLocation("20060102150405", s, loc); err == nil {
				return t, nil
			}
		case 8: // 20240315
			if t, err := time.ParseInLocation("20060102", s, loc); err == nil {
				return t, nil
			}
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			if t, ok := fromUnixNumber(float64(n)); ok {
				return t.In(loc), nil
			}
		}
		return time.Time{}, fmt.Errorf("%q is neither a date nor a Unix time in seconds or milliseconds", s)
	}
	for _, l := range defaultTimeLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a recognised date or time (pass a layout such as \"YYYY-MM-DD HH:mm:ss\")", s)
}

// toTime converts a time value, text or a Unix number to a time.
func toTime(v any, layouts []string, loc *time.Location) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x, nil
	case *time.Time:
		if x != nil {
			return *x, nil
		}
	case string:
		return parseTimeText(x, layouts, loc)
	case []byte:
		return parseTimeText(string(x), layouts, loc)
	}
	if f, ok := numberValue(v); ok {
		t, ok := fromUnixNumber(f)
		if !ok {
			return time.Time{}, fmt.Errorf("%s is out of range for a Unix time in seconds or milliseconds", Stringify(v))
		}
		return t.In(loc), nil
	}
	return time.Time{}, fmt.Errorf("want a time, date text or Unix time, got %s", describe(v))
}

// timeArg reads a time argument; text and numbers are parsed as parseTime does with its defaults.
func timeArg(fn string, i int, v any) (time.Time, error) {
	t, err := toTime(v, nil, time.UTC)
	if err != nil {
		return time.Time{}, errArg(fn, i, "%v", err)
	}
	return t, nil
}

func layoutsArg(fn string, i int, v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		if x == "" {
			return nil, nil
		}
		return []string{x}, nil
	case []string:
		return x, nil
	case []any:
		out := make([]string, len(x))
		for j, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, errArg(fn, i, "must be a layout or a list of layouts, item %d is %s", j+1, describe(e))
			}
			out[j] = s
		}
		return out, nil
	}
	return nil, errArg(fn, i, "must be a layout or a list of layouts, got %s", describe(v))
}

// maxDays is the most days a time.Duration holds.
const maxDays = math.MaxInt64 / int64(24*time.Hour)

// parseDuration extends time.ParseDuration with a leading day count: "2d", "-1d12h", "1.5d".
func parseDuration(s string) (time.Duration, error) {
	orig := s
	s = strings.TrimSpace(s)
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var total time.Duration
	days := false
	if i := strings.IndexByte(s, 'd'); i > 0 && strings.Trim(s[:i], "0123456789.") == "" {
		hours, err := time.ParseDuration(s[:i] + "h")
		if err != nil || hours > time.Duration(maxDays)*time.Hour {
			return 0, fmt.Errorf("%q is not a duration (such as \"90m\", \"24h\" or \"2d\")", orig)
		}
		total, days = hours*24, true
		s = s[i+1:]
	}
	if s != "" || !days {
		d, err := time.ParseDuration(s)
		if err != nil || s[0] == '-' || s[0] == '+' { // the sign goes first: "-1d12h", not "1d-12h"
			return 0, fmt.Errorf("%q is not a duration (such as \"90m\", \"24h\" or \"2d\")", orig)
		}
		if total > 0 && d > math.MaxInt64-total {
			return 0, fmt.Errorf("%q is too long a duration", orig)
		}
		total += d
	}
	if neg {
		total = -total
	}
	return total, nil
}

func checkDuration(s string) error {
	_, err := parseDuration(s)
	return err
}

func init() {
	for name, index := range map[string]int{"parseTime": 2, "formatTime": 2, "inZone": 1} {
		checkConstant(name, index, checkLocation)
	}
	checkConstant("addTime", 1, checkDuration)

	register(FunctionDoc{
		Name: "parseTime", Category: CategoryTime,
		Signature:   "parseTime(value[, layouts[, timeZone]]) time",
		Description: "Reads a time from text (RFC 3339, \"2006-01-02 15:04:05\", \"2006-01-02\", \"2006/01/02 15:04:05\", \"20060102150405\" and more, or the given layout or list of layouts) or from a Unix time in seconds or milliseconds; text without an offset is in timeZone, UTC by default.",
		Example:     `parseTime("2024-03-15 14:30:00", "", "Asia/Shanghai")`,
		Output:      "2024-03-15T14:30:00+08:00",
	}, func(params ...any) (any, error) {
		if err := arity("parseTime", params, 1, 3); err != nil {
			return nil, err
		}
		var layouts []string
		if len(params) > 1 {
			var err error
			if layouts, err = layoutsArg("parseTime", 1, params[1]); err != nil {
				return nil, err
			}
		}
		loc, err := locationArg("parseTime", params, 2)
		if err != nil {
			return nil, err
		}
		t, err := toTime(params[0], layouts, loc)
		if err != nil {
			return nil, fmt.Errorf("parseTime: %w", err)
		}
		return t, nil
	},
		new(func(any, ...any) time.Time),
	)

	register(FunctionDoc{
		Name: "formatTime", Category: CategoryTime,
		Signature:   "formatTime(time, layout[, timeZone]) string",
		Description: "Formats a time with a Go layout (\"2006-01-02 15:04:05\"), a named one (RFC3339, RFC3339Nano, RFC1123, RFC1123Z, DateTime, DateOnly, TimeOnly) or tokens YYYY YY MM DD HH hh mm ss SSS ZZ, after moving it to timeZone when given.",
		Example:     `formatTime(parseTime("2024-03-15T06:30:00Z"), "YYYY-MM-DD HH:mm:ss", "Asia/Shanghai")`,
		Output:      "2024-03-15 14:30:00",
	}, func(params ...any) (any, error) {
		if err := arity("formatTime", params, 2, 3); err != nil {
			return nil, err
		}
		t, err := timeArg("formatTime", 0, params[0])
		if err != nil {
			return nil, err
		}
		layout, err := argString("formatTime", 1, params[1])
		if err != nil {
			return nil, err
		}
		if len(params) == 3 {
			loc, err := locationArg("formatTime", params, 2)
			if err != nil {
				return nil, err
			}
			t = t.In(loc)
		}
		return t.Format(goLayout(layout)), nil
	},
		new(func(any, string, ...string) string),
	)

	register(FunctionDoc{
		Name: "inZone", Category: CategoryTime,
		Signature:   "inZone(time, timeZone) time",
		Description: "Returns the same instant shown in another IANA time zone, so that its date, hour and printed form are local to that zone.",
		Example:     `inZone(parseTime("2024-03-15T20:00:00Z"), "Asia/Shanghai").Day()`,
		Output:      "16",
	}, func(params ...any) (any, error) {
		if err := arity("inZone", params, 2, 2); err != nil {
			return nil, err
		}
		t, err := timeArg("inZone", 0, params[0])
		if err != nil {
			return nil, err
		}
		if params[1] == nil {
			return nil, errArg("inZone", 1, "must be a time zone name, got null")
		}
		loc, err := locationArg("inZone", params, 1)
		if err != nil {
			return nil, err
		}
		return t.In(loc), nil
	}, new(func(any, string) time.Time))

	register(FunctionDoc{
		Name: "addTime", Category: CategoryTime,
		Signature:   "addTime(time, duration) time",
		Description: "Adds a duration, given as text such as \"90m\", \"-30m\", \"24h\" or \"2d12h\" (days first, each exactly 24 hours) or as a duration() value, to a time.",
		Example:     `addTime(parseTime("2024-03-15T10:00:00Z"), "1d12h30m")`,
		Output:      "2024-03-16T22:30:00Z",
	}, func(params ...any) (any, error) {
		if err := arity("addTime", params, 2, 2); err != nil {
			return nil, err
		}
		t, err := timeArg("addTime", 0, params[0])
		if err != nil {
			return nil, err
		}
		var d time.Duration
		switch x := params[1].(type) {
		case time.Duration:
			d = x
		case string:
			if d, err = parseDuration(x); err != nil {
				return nil, fmt.Errorf("addTime: %w", err)
			}
		default:
			return nil, errArg("addTime", 1, "must be a duration such as \"90m\" or \"2d\" (use addDays to add a number of days), got %s", describe(params[1]))
		}
		return t.Add(d), nil
	}, new(func(any, any) time.Time))

	register(FunctionDoc{
		Name: "addDays", Category: CategoryTime,
		Signature:   "addDays(time, days) time",
		Description: "Adds whole calendar days (negative to go back), keeping the wall-clock time across daylight-saving changes of the time's zone.",
		Example:     `addDays(parseTime("2024-02-28"), 2)`,
		Output:      "2024-03-01T00:00:00Z",
	}, func(params ...any) (any, error) {
		if err := arity("addDays", params, 2, 2); err != nil {
			return nil, err
		}
		t, err := timeArg("addDays", 0, params[0])
		if err != nil {
			return nil, err
		}
		n, err := argInt("addDays", 1, params[1])
		if err != nil {
			return nil, err
		}
		return t.AddDate(0, 0, n), nil
	}, new(func(any, int) time.Time))

	register(FunctionDoc{
		Name: "unix", Category: CategoryTime,
		Signature:   "unix(time) int",
		Description: "Returns the Unix time in seconds, as Stripe and many webhooks expect.",
		Example:     `unix(parseTime("2024-03-15T14:30:00+08:00"))`,
		Output:      "1710484200",
	}, func(params ...any) (any, error) {
		if err := arity("unix", params, 1, 1); err != nil {
			return nil, err
		}
		t, err := timeArg("unix", 0, params[0])
		if err != nil {
			return nil, err
		}
		return t.Unix(), nil
	}, new(func(any) int64))

	register(FunctionDoc{
		Name: "unixMilli", Category: CategoryTime,
		Signature:   "unixMilli(time) int",
		Description: "Returns the Unix time in milliseconds, as JavaScript-based APIs expect.",
		Example:     `unixMilli(parseTime("2024-03-15T06:30:00.250Z"))`,
		Output:      "1710484200250",
	}, func(params ...any) (any, error) {
		if err := arity("unixMilli", params, 1, 1); err != nil {
			return nil, err
		}
		t, err := timeArg("unixMilli", 0, params[0])
		if err != nil {
			return nil, err
		}
		return t.UnixMilli(), nil
	}, new(func(any) int64))

	fromUnix := func(fn string, milli bool) func(params ...any) (any, error) {
		return func(params ...any) (any, error) {
			if err := arity(fn, params, 1, 1); err != nil {
				return nil, err
			}
			v := params[0]
			if s, ok := v.(string); ok {
				v = json.Number(strings.TrimSpace(s))
			}
			f, ok := numberValue(v)
			if !ok || math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, errArg(fn, 0, "must be a number, got %s", quoteValue(params[0]))
			}
			if milli {
				f /= 1000
			}
			if math.Abs(f) > 1e12 { // beyond the year 33658: a unit mistake, not a date
				return nil, errArg(fn, 0, "%s is out of range", Stringify(params[0]))
			}
			if n, whole := toInt64(v); whole { // exact, where dividing a float by 1000 is not
				if milli {
					return time.UnixMilli(n).UTC(), nil
				}
				return time.Unix(n, 0).UTC(), nil
			}
			return unixSeconds(f), nil
		}
	}
	register(FunctionDoc{
		Name: "fromUnix", Category: CategoryTime,
		Signature:   "fromUnix(seconds) time",
		Description: "Turns a Unix time in seconds (a fraction is kept) into a UTC time.",
		Example:     `fromUnix(1710484200)`,
		Output:      "2024-03-15T06:30:00Z",
	}, fromUnix("fromUnix", false), new(func(any) time.Time))

	register(FunctionDoc{
		Name: "fromUnixMilli", Category: CategoryTime,
		Signature:   "fromUnixMilli(milliseconds) time",
		Description: "Turns a Unix time in milliseconds into a UTC time.",
		Example:     `fromUnixMilli(1710484200250)`,
		Output:      "2024-03-15T06:30:00.25Z",
	}, fromUnix("fromUnixMilli", true), new(func(any) time.Time))
}
