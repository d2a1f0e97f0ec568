package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/aepsflow/aepsflow/workflows"
)

// HistoryShape summarizes the histories of a sample of the main phase's Eko transactions: how
// many events and workflow tasks each took, and how many left a local try for the retried
// activity. Information, no target: a run whose local tries time out under load pays an
// activity's tasks and events for each, which shows here and nowhere else.
type HistoryShape struct {
	Sampled          int            `json:"sampled"`
	EventsP50        int            `json:"events_p50"`
	EventsMax        int            `json:"events_max"`
	TasksP50         int            `json:"workflow_tasks_p50"`
	TasksMax         int            `json:"workflow_tasks_max"`
	FailedLocalTries int            `json:"failed_local_tries"` // local activity markers carrying a failure
	WithActivity     int            `json:"with_activity"`      // histories that scheduled a (retried) activity
	Activities       map[string]int `json:"activities,omitempty"`
}

// historySample bounds how many histories the shape reads: enough to see a share of a few
// percent, cheap next to the run.
const historySample = 200

// historyShape reads every k-th of the main phase's Eko workflows' histories.
func (b *bench) historyShape(ctx context.Context, main []*ekoTx) (*HistoryShape, error) {
	var allowed []*ekoTx
	for _, tx := range main {
		if tx.allowed { // a refused debit-hook has no workflow
			allowed = append(allowed, tx)
		}
	}
	if len(allowed) == 0 {
		return nil, nil
	}
	step := max(len(allowed)/historySample, 1)
	var ids []string
	for i := 0; i < len(allowed) && len(ids) < historySample; i += step {
		ids = append(ids, workflows.WorkflowID("eko", allowed[i].ref))
	}
	// Each read fills its own slot; the shape is summed once all are in.
	counts := make([]historyCounts, len(ids))
	errs := make([]error, len(ids))
	drive(ctx, len(ids), 4, 0, func(i int) { counts[i], errs[i] = b.readHistory(ctx, ids[i]) })
	for _, err := range errs {
		if err != nil {
			return nil, err // the first is enough: the others say the same
		}
	}
	shape := &HistoryShape{Sampled: len(ids), Activities: map[string]int{}}
	events := make([]int, len(ids))
	tasks := make([]int, len(ids))
	for i, c := range counts {
		events[i], tasks[i] = c.events, c.tasks
		shape.FailedLocalTries += c.failedLocal
		if len(c.activities) > 0 {
			shape.WithActivity++
		}
		for name, n := range c.activities {
			shape.Activities[name] += n
		}
	}
	shape.EventsP50, shape.EventsMax = medianMax(events)
	shape.TasksP50, shape.TasksMax = medianMax(tasks)
	return shape, nil
}

// readHistory reads one workflow's history and counts it.
func (b *bench) readHistory(ctx context.Context, id string) (historyCounts, error) {
	it := b.tc.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var evs []*historypb.HistoryEvent
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return historyCounts{}, fmt.Errorf("history of %s: %w", id, err)
		}
		evs = append(evs, ev)
	}
	return countHistory(evs), nil
}

type historyCounts struct {
	events, tasks, failedLocal int
	activities                 map[string]int // scheduled, by type
}

// countHistory counts one history's events, completed workflow tasks, local activity markers that carry
// a failure, and scheduled activities.
func countHistory(evs []*historypb.HistoryEvent) historyCounts {
	c := historyCounts{events: len(evs), activities: map[string]int{}}
	for _, ev := range evs {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			c.tasks++
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			if ev.GetMarkerRecordedEventAttributes().GetFailure() != nil {
				c.failedLocal++
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			c.activities[ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()]++
		}
	}
	return c
}

// medianMax sorts xs in place (the callers' slices are their own) and returns its median and maximum.
func medianMax(xs []int) (p50, maxV int) {
	sort.Ints(xs)
	return xs[len(xs)/2], xs[len(xs)-1]
}

// String is the shape in one line.
func (h *HistoryShape) String() string {
	acts := make([]string, 0, len(h.Activities))
	for name, n := range h.Activities {
		acts = append(acts, fmt.Sprintf("%s %d", name, n))
	}
	sort.Strings(acts)
	list := "none"
	if len(acts) > 0 {
		list = strings.Join(acts, ", ")
	}
	return fmt.Sprintf("%d sampled: events p50 %d, max %d; workflow tasks p50 %d, max %d; %d failed local tries; %d scheduled an activity (%s)",
		h.Sampled, h.EventsP50, h.EventsMax, h.TasksP50, h.TasksMax, h.FailedLocalTries, h.WithActivity, list)
}
