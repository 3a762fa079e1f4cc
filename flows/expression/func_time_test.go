package expression

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	at := func(s string) time.Time { return mustTime(t, s) }
	runEvalCases(t, []evalCase{
		// The default layouts.
		{src: `parseTime(trigger.body)`, body: "2024-03-15T14:30:00+08:00", want: at("2024-03-15T14:30:00+08:00")},
		{src: `parseTime(trigger.body)`, body: "2024-03-15T06:30:00Z", want: at("2024-03-15T06:30:00Z")},
		{src: `parseTime(trigger.body)`, body: "2024-03-15T06:30:00.123456Z", want: at("2024-03-15T06:30:00.123456Z")},
		{src: `parseTime(trigger.body)`, body: "2024-03-15T14:30:00+0800", want: at("2024-03-15T14:30:00+08:00")},
		{src: `parseTime(trigger.body)`, body: "2024-03-15T14:30:00", want: at("2024-03-15T14:30:00Z")},
		{src: `parseTime(trigger.body)`, body: "2024-03-15T14:30", want: at("2024-03-15T14:30:00Z")},
		{src: `parseTime(trigger.body)`, body: "2024-03-15 14:30:00", want: at("2024-03-15T14:30:00Z")},
		{src: `parseTime(trigger.body)`, body: "2024-03-15 14:30:00.5", want: at("2024-03-15T14:30:00.5Z")},
		{src: `parseTime(trigger.body)`, body: "2024-03-15 14:30:00+08:00", want: at("2024-03-15T14:30:00+08:00")},
		{src: `parseTime(trigger.body)`, body: "2024-03-15 14:30", want: at("2024-03-15T14:30:00Z")},
		{src: `parseTime(trigger.body)`, body: "2024-03-15", want: at("2024-03-15T00:00:00Z")},
		{src: `parseTime(trigger.body)`, body: "2024/03/15 14:30:00", want: at("2024-03-15T14:30:00Z")},
		{src: `parseTime(trigger.body)`, body: "2024/03/15 14:30", want: at("2024-03-15T14:30:00Z")},
		{src: `parseTime(trigger.body)`, body: "2024/03/15", want: at("2024-03-15T00:00:00Z")},
		{src: `parseTime(trigger.body)`, body: "20240315143000", want: at("2024-03-15T14:30:00Z")},
		{src: `parseTime(trigger.body)`, body: "20240315", want: at("2024-03-15T00:00:00Z")},
		{src: `parseTime(trigger.body)`, body: "Fri, 15 Mar 2024 06:30:00 +0000", want: at("2024-03-15T06:30:00Z")},
		{src: `parseTime(trigger.body)`, body: " 2024-03-15 ", want: at("2024-03-15T00:00:00Z")},
		// A time zone for text without an offset: Alipay sends Beijing time without saying so.
		{src: `parseTime(trigger.body, "", "Asia/Shanghai")`, body: "2024-03-15 14:30:00", want: at("2024-03-15T14:30:00+08:00")},
		{src: `parseTime(trigger.body, nil, "Asia/Shanghai")`, body: "20240315143000", want: at("2024-03-15T14:30:00+08:00")},
		{src: `parseTime(trigger.body, "", "Asia/Shanghai")`, body: "2024-03-15T14:30:00Z", want: at("2024-03-15T14:30:00Z")},
		{src: `parseTime(trigger.body, "", "America/New_York")`, body: "2024-07-01 09:00:00", want: at("2024-07-01T09:00:00-04:00")},
		{src: `unix(parseTime("2024-03-15 14:30:00", "", "Asia/Shanghai")) == unix(parseTime("2024-03-15T06:30:00Z"))`, want: true},
		// Unix times in seconds and milliseconds, as numbers or digits.
		{src: `parseTime(trigger.body)`, body: 1710484200.0, want: at("2024-03-15T06:30:00Z")},
		{src: `parseTime(trigger.body)`, body: 1710484200250.0, want: at("2024-03-15T06:30:00.25Z")},
		{src: `parseTime(trigger.body)`, body: 1710484200.5, want: at("2024-03-15T06:30:00.5Z")},
		{src: `parseTime(trigger.body)`, body: json.Number("1710484200"), want: at("2024-03-15T06:30:00Z")},
		{src: `parseTime(trigger.body)`, body: "1710484200", want: at("2024-03-15T06:30:00Z")},
		{src: `parseTime(trigger.body)`, body: "1710484200250", want: at("2024-03-15T06:30:00.25Z")},
		{src: `parseTime(trigger.body)`, body: 0.0, want: at("1970-01-01T00:00:00Z")},
		{src: `parseTime(trigger.body)`, body: -86400.0, want: at("1969-12-31T00:00:00Z")},
		{src: `parseTime(1710484200)`, want: at("2024-03-15T06:30:00Z")},
		{src: `parseTime(1710484200, nil, "Asia/Shanghai")`, want: at("2024-03-15T14:30:00+08:00")},
		// Given layouts: Go layouts, friendly tokens, names, or a list tried in order.
		{src: `parseTime("15/03/2024", "DD/MM/YYYY")`, want: at("2024-03-15T00:00:00Z")},
		{src: `parseTime("15.03.2024 14:30", "02.01.2006 15:04")`, want: at("2024-03-15T14:30:00Z")},
		{src: `parseTime("2024-03-15T14:30:00.123+08:00", "RFC3339Nano")`, want: at("2024-03-15T14:30:00.123+08:00")},
		{src: `parseTime(trigger.body, ["DD/MM/YYYY", "YYYY.MM.DD"])`, body: "2024.03.15", want: at("2024-03-15T00:00:00Z")},
		{src: `parseTime("03/15/2024 02:30 PM", "MM/DD/YYYY hh:mm PM", "Asia/Shanghai")`, want: at("2024-03-15T14:30:00+08:00")},
		{src: `parseTime(parseTime("2024-03-15"))`, want: at("2024-03-15T00:00:00Z")},
		// Errors.
		{src: `parseTime(trigger.body)`, body: "not a date", err: `parseTime: "not a date" is not a recognised date or time`},
		{src: `parseTime(trigger.body)`, body: "2024-02-30", err: `"2024-02-30" is not a recognised date or time`},
		{src: `parseTime(trigger.body)`, body: "", err: `parseTime: "" is not a recognised date or time`},
		{src: `parseTime(trigger.body)`, body: "123456789012345", err: `"123456789012345" is neither a date nor a Unix time`},
		{src: `parseTime(trigger.body)`, body: 1e15, err: "parseTime: 1000000000000000 is out of range for a Unix time"},
		{src: `parseTime(trigger.body)`, body: true, err: "parseTime: want a time, date text or Unix time, got a boolean"},
		{src: `parseTime(trigger.body)`, body: nil, err: "got null"},
		{src: `parseTime("2024-03-15", "DD/MM/YYYY")`, err: `parseTime: "2024-03-15" does not match layout "DD/MM/YYYY"`},
		{src: `parseTime("2024-03-15", ["DD/MM/YYYY", "YYYYMMDD"])`, err: `matches none of the layouts ["DD/MM/YYYY" "YYYYMMDD"]`},
		{src: `parseTime("2024-03-15", 42)`, err: "parseTime: argument 2 must be a layout or a list of layouts, got a number"},
		{src: `parseTime("2024-03-15", ["x", 1])`, err: "parseTime: argument 2 must be a layout or a list of layouts, item 2 is a number"},
		{src: `parseTime("2024-03-15", "", trigger.body)`, body: "Mars/Olympus", err: `parseTime: unknown time zone "Mars/Olympus"`},
	})
}

func TestFormatTime(t *testing.T) {
	const ts = `parseTime("2024-03-15T06:30:05.123Z")`
	runEvalCases(t, []evalCase{
		{src: `formatTime(` + ts + `, "YYYY-MM-DD HH:mm:ss")`, want: "2024-03-15 06:30:05"},
		{src: `formatTime(` + ts + `, "YYYY-MM-DD HH:mm:ss", "Asia/Shanghai")`, want: "2024-03-15 14:30:05"},
		{src: `formatTime(` + ts + `, "YYYYMMDDHHmmss", "Asia/Shanghai")`, want: "20240315143005"},
		{src: `formatTime(` + ts + `, "DD/MM/YY hh:mm PM")`, want: "15/03/24 06:30 AM"},
		{src: `formatTime(` + ts + `, "HH:mm:ss.SSS")`, want: "06:30:05.123"},
		{src: `formatTime(` + ts + `, "YYYY-MM-DDTHH:mm:ssZZ", "Asia/Shanghai")`, want: "2024-03-15T14:30:05+08:00"},
		{src: `formatTime(` + ts + `, "YYYY-MM-DDTHH:mm:ssZZ")`, want: "2024-03-15T06:30:05Z"},
		{src: `formatTime(` + ts + `, "2006-01-02 15:04")`, want: "2024-03-15 06:30"},
		{src: `formatTime(` + ts + `, "Mon, Jan 2")`, want: "Fri, Mar 15"},
		{src: `formatTime(` + ts + `, "RFC3339", "Asia/Shanghai")`, want: "2024-03-15T14:30:05+08:00"},
		{src: `formatTime(` + ts + `, "RFC3339Nano")`, want: "2024-03-15T06:30:05.123Z"},
		{src: `formatTime(` + ts + `, "DateOnly")`, want: "2024-03-15"},
		{src: `formatTime(` + ts + `, "DateTime")`, want: "2024-03-15 06:30:05"},
		{src: `formatTime(` + ts + `, "TimeOnly")`, want: "06:30:05"},
		{src: `formatTime(` + ts + `, "RFC1123")`, want: "Fri, 15 Mar 2024 06:30:05 UTC"},
		// Text and Unix times are read as parseTime reads them.
		{src: `formatTime(trigger.body, "DateOnly", "Asia/Shanghai")`, body: "2024-03-15T20:00:00Z", want: "2024-03-16"},
		{src: `formatTime(trigger.body, "YYYY-MM-DD HH:mm")`, body: 1710484200.0, want: "2024-03-15 06:30"},
		{src: `formatTime(trigger.body, "YYYY")`, body: "garbage", err: `formatTime: argument 1 "garbage" is not a recognised date or time`},
		{src: `formatTime(` + ts + `, trigger.body)`, body: nil, err: "formatTime: argument 2 must be text, got null"},
		{src: `formatTime(` + ts + `, "YYYY", trigger.body)`, body: "Asia/Shanghia", err: `formatTime: unknown time zone "Asia/Shanghia"`},
	})
}

func TestTimeArithmetic(t *testing.T) {
	at := func(s string) time.Time { return mustTime(t, s) }
	const ts = `parseTime("2024-03-15T10:00:00Z")`
	runEvalCases(t, []evalCase{
		{src: `inZone(` + ts + `, "Asia/Shanghai")`, want: at("2024-03-15T18:00:00+08:00")},
		{src: `inZone(parseTime("2024-03-15T20:00:00Z"), "Asia/Shanghai").Day()`, want: 16},
		{src: `inZone(` + ts + `, "UTC") == ` + ts, want: true},
		{src: `inZone(` + ts + `, trigger.body)`, body: nil, err: "inZone: argument 2 must be a time zone name, got null"},
		{src: `inZone(` + ts + `, trigger.body)`, body: "Nowhere/City", err: `inZone: unknown time zone "Nowhere/City"`},

		{src: `addTime(` + ts + `, "24h")`, want: at("2024-03-16T10:00:00Z")},
		{src: `addTime(` + ts + `, "-30m")`, want: at("2024-03-15T09:30:00Z")},
		{src: `addTime(` + ts + `, "2d")`, want: at("2024-03-17T10:00:00Z")},
		{src: `addTime(` + ts + `, "1.5d")`, want: at("2024-03-16T22:00:00Z")},
		{src: `addTime(` + ts + `, "-1d12h")`, want: at("2024-03-13T22:00:00Z")},
		{src: `addTime(` + ts + `, "0d")`, want: at("2024-03-15T10:00:00Z")},
		{src: `addTime(` + ts + `, "+90s")`, want: at("2024-03-15T10:01:30Z")},
		{src: `addTime(` + ts + `, duration("1h"))`, want: at("2024-03-15T11:00:00Z")},
		{src: `addTime(trigger.body, "1h")`, body: "2024-03-15 10:00:00", want: at("2024-03-15T11:00:00Z")},
		{src: `addTime(` + ts + `, trigger.body)`, body: "1d-1h", err: `addTime: "1d-1h" is not a duration`},
		{src: `addTime(` + ts + `, trigger.body)`, body: "", err: `addTime: "" is not a duration`},
		{src: `addTime(` + ts + `, trigger.body)`, body: "99999999d", err: `addTime: "99999999d" is not a duration`},
		{src: `addTime(` + ts + `, 3)`, err: "addTime: argument 2 must be a duration such as \"90m\" or \"2d\" (use addDays to add a number of days), got a number"},

		{src: `addDays(parseTime("2024-02-28"), 2)`, want: at("2024-03-01T00:00:00Z")},
		{src: `addDays(parseTime("2024-03-01"), -1)`, want: at("2024-02-29T00:00:00Z")},
		{src: `addDays(` + ts + `, trigger.body)`, body: 3.0, want: at("2024-03-18T10:00:00Z")},
		// Across the New York daylight-saving change the wall-clock time stays, though only 23 hours pass.
		{src: `addDays(parseTime("2024-03-09 12:00:00", "", "America/New_York"), 1)`, want: at("2024-03-10T12:00:00-04:00")},
		{src: `addDays(` + ts + `, trigger.body)`, body: 1.5, err: "addDays: argument 2 must be a whole number, got 1.5"},

		{src: `unix(` + ts + `)`, want: int64(1710496800)},
		{src: `unixMilli(parseTime("2024-03-15T10:00:00.123Z"))`, want: int64(1710496800123)},
		{src: `unix(trigger.body)`, body: "2024-03-15T10:00:00Z", want: int64(1710496800)},
		{src: `unix(trigger.body)`, body: false, err: "unix: argument 1 want a time, date text or Unix time, got a boolean"},
		{src: `fromUnix(1710496800)`, want: at("2024-03-15T10:00:00Z")},
		{src: `fromUnix(trigger.body)`, body: 1710496800.0, want: at("2024-03-15T10:00:00Z")},
		{src: `fromUnix(trigger.body)`, body: "1710496800", want: at("2024-03-15T10:00:00Z")},
		{src: `fromUnix(trigger.body)`, body: 1710496800.5, want: at("2024-03-15T10:00:00.5Z")},
		{src: `fromUnixMilli(trigger.body)`, body: 1710496800123.0, want: at("2024-03-15T10:00:00.123Z")},
		{src: `fromUnixMilli(trigger.body)`, body: "1710496800123", want: at("2024-03-15T10:00:00.123Z")},
		{src: `fromUnixMilli(unixMilli(` + ts + `)) == ` + ts, want: true},
		{src: `fromUnix(unix(` + ts + `)) == ` + ts, want: true},
		{src: `fromUnix(trigger.body)`, body: "soon", err: `fromUnix: argument 1 must be a number, got "soon"`},
		{src: `fromUnix(trigger.body)`, body: 1e13, err: "fromUnix: argument 1 10000000000000 is out of range"},
		{src: `fromUnixMilli(trigger.body)`, body: nil, err: "fromUnixMilli: argument 1 must be a number, got null"},

		// Times work with expr's operators and methods.
		{src: ts + ` < addTime(` + ts + `, "1s")`, want: true},
		{src: `(addTime(` + ts + `, "2h") - ` + ts + `).Hours()`, want: 2.0},
		{src: `parseTime("2024-03-15").Weekday().String()`, want: "Friday"},
	})
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"90m": 90 * time.Minute, "1h30m": 90 * time.Minute, "2d": 48 * time.Hour, "-2d": -48 * time.Hour,
		"1d12h": 36 * time.Hour, "0.5d": 12 * time.Hour, " 3d ": 72 * time.Hour, "0": 0,
	} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "1dd", "1d-1h", "--1h", "1 day", "1x", "-", "1d+2h", "d1"} {
		if got, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) = %v, want an error", in, got)
		}
	}
}

func TestGoLayout(t *testing.T) {
	for in, want := range map[string]string{
		"YYYY-MM-DD HH:mm:ss":       "2006-01-02 15:04:05",
		"YY/MM/DD hh:mm PM":         "06/01/02 03:04 PM",
		"HH:mm:ss.SSS":              "15:04:05.000",
		"YYYY-MM-DDTHH:mm:ssZZ":     "2006-01-02T15:04:05Z07:00",
		"2006-01-02T15:04:05Z07:00": "2006-01-02T15:04:05Z07:00",
		"Monday, January 2 2006":    "Monday, January 2 2006",
		"RFC3339":                   time.RFC3339,
	} {
		if got := goLayout(in); got != want {
			t.Errorf("goLayout(%q) = %q, want %q", in, got, want)
		}
	}
}
