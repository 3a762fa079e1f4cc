package core

import (
	"context"
	"fmt"
	"strings"
	"time"

	// Embedded zone data, so "Asia/Shanghai" resolves the same in a scratch container as on a developer machine.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"

	"github.com/ferry-hq/ferry/nodes"
)

// ScheduleType is the node type of the cron trigger.
const ScheduleType = "core.schedule"

// cronParser accepts five fields, six with leading seconds, and descriptors such as @hourly and @every 5m.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// cronReference is a fixed instant from which a schedule must fire at least once, to catch expressions such as
// "0 0 30 2 *" (February 30th) that parse but never fire. A fixed instant keeps the check deterministic.
var cronReference = time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)

func init() {
	nodes.MustRegister(nodes.Spec{
		Type:        ScheduleType,
		Version:     1,
		Name:        "Schedule",
		Category:    nodes.CategoryTrigger,
		Description: "Starts a run on a timetable written as a cron expression.",
		Trigger:     true,
		Outputs:     []nodes.Port{{ID: nodes.DefaultPort, Label: "Tick", Kind: nodes.PortMain}},
		Params: []nodes.Field{
			{
				Name: "cron", Label: "Cron expression", Type: nodes.TypeCron, Required: true,
				Description: "Five fields (minute hour day-of-month month day-of-week), six with leading " +
					"seconds, or a descriptor: @yearly, @monthly, @weekly, @daily, @hourly, @every 5m.",
				Examples: []nodes.Example{
					{Name: "Every day at 09:00", Value: "0 9 * * *"},
					{Name: "Every 5 minutes", Value: "*/5 * * * *"},
					{Name: "Weekdays at 18:30", Value: "30 18 * * 1-5"},
					{Name: "Every 30 seconds", Value: "*/30 * * * * *"},
					{Name: "Hourly", Value: "@hourly"},
					{Name: "Every 15 minutes from start", Value: "@every 15m"},
				},
			},
			{
				Name: "timezone", Label: "Time zone", Type: nodes.TypeString, Default: "UTC",
				Description: "IANA time zone the cron fields are read in; daylight saving is followed. " +
					"@every intervals do not depend on it.",
				Examples: []nodes.Example{
					{Name: "China", Value: "Asia/Shanghai"},
					{Name: "UK", Value: "Europe/London"},
					{Name: "US Eastern", Value: "America/New_York"},
					{Name: "UTC", Value: "UTC"},
				},
			},
		},
		Docs: "Starts a run at every time the cron expression matches, read in the chosen time zone.\n\n" +
			"**Output:** the tick the scheduler fired, `{\"scheduledAt\": \"2026-11-22T09:00:00+08:00\", …}` " +
			"(RFC 3339 in the trigger's zone). In a test run without a tick, the current time is used.\n\n" +
			"**Example:** `0 9 * * 1-5` with time zone `Asia/Shanghai` runs at 09:00 Beijing time on weekdays; " +
			"a later step reads `trigger.scheduledAt`.",
	}, newSchedule)
}

type scheduleNode struct {
	schedule cron.Schedule
	loc      *time.Location
}

func newSchedule(cfg *nodes.Config) (nodes.Node, error) {
	n := &scheduleNode{loc: time.UTC}
	name := strings.TrimSpace(cfg.String("timezone"))
	switch name {
	case "", "UTC":
	case "Local":
		cfg.Fail("timezone", nodes.CodeParamInvalid, "name a time zone such as Asia/Shanghai: Local depends on the server")
	default:
		loc, err := time.LoadLocation(name)
		if err != nil {
			cfg.Fail("timezone", nodes.CodeParamInvalid, fmt.Sprintf("%q is not a time zone such as Asia/Shanghai", name))
		} else {
			n.loc = loc
		}
	}
	spec := strings.TrimSpace(cfg.String("cron"))
	switch {
	case spec == "":
		// Reported by the required check.
	case strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ="):
		cfg.Fail("cron", nodes.CodeParamInvalid, "set the time zone in the Time zone field, not in the expression")
	default:
		sched, err := cronParser.Parse(spec)
		if err != nil {
			cfg.Fail("cron", nodes.CodeParamInvalid, fmt.Sprintf("%q is not a cron expression: %v", spec, err))
			break
		}
		if s, ok := sched.(*cron.SpecSchedule); ok {
			s.Location = n.loc
		}
		if sched.Next(cronReference).IsZero() {
			cfg.Fail("cron", nodes.CodeParamInvalid, fmt.Sprintf("%q never fires", spec))
			break
		}
		n.schedule = sched
	}
	return n, cfg.Err()
}

// Next returns the first firing strictly after after, in the trigger's time zone; the zero time means never.
func (n *scheduleNode) Next(after time.Time) time.Time {
	if n.schedule == nil {
		return time.Time{}
	}
	next := n.schedule.Next(after.In(n.loc))
	if next.IsZero() {
		return next
	}
	return next.In(n.loc)
}

// Execute passes the scheduler's tick on unchanged. A run started without one (a test run from the editor) gets
// a tick for the current time, so later steps see the shape they will see live.
func (n *scheduleNode) Execute(_ context.Context, x *nodes.Exec) (nodes.Result, error) {
	if x.Input != nil {
		return nodes.Result{Output: x.Input}, nil
	}
	return nodes.Result{Output: map[string]any{
		"scheduledAt": now().In(n.loc).Format(time.RFC3339),
		"timezone":    n.loc.String(),
	}}, nil
}

var _ nodes.ScheduleTrigger = (*scheduleNode)(nil)
