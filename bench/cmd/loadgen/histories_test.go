package main

import (
	"maps"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
)

func TestCountHistory(t *testing.T) {
	ev := func(typ enumspb.EventType) *historypb.HistoryEvent { return &historypb.HistoryEvent{EventType: typ} }
	marker := func(failed bool) *historypb.HistoryEvent {
		a := &historypb.MarkerRecordedEventAttributes{MarkerName: "LocalActivity"}
		if failed {
			a.Failure = &failurepb.Failure{Message: "deadline exceeded"}
		}
		return &historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_MARKER_RECORDED,
			Attributes: &historypb.HistoryEvent_MarkerRecordedEventAttributes{MarkerRecordedEventAttributes: a}}
	}
	scheduled := func(name string) *historypb.HistoryEvent {
		return &historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
			Attributes: &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
				ActivityType: &commonpb.ActivityType{Name: name}}}}
	}
	task := ev(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
	tests := []struct {
		name       string
		evs        []*historypb.HistoryEvent
		events     int
		tasks      int
		failed     int
		activities map[string]int
	}{
		{"one task, local tries that succeeded", []*historypb.HistoryEvent{ev(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED), task, marker(false), marker(false)}, 4, 1, 0, map[string]int{}},
		{"a local inquiry timed out into the retried activity",
			[]*historypb.HistoryEvent{task, marker(true), scheduled("Inquire"), task, marker(false), scheduled("Inquire")}, 6, 2, 1, map[string]int{"Inquire": 2}},
		{"empty", nil, 0, 0, 0, map[string]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := countHistory(tt.evs)
			if c.events != len(tt.evs) || c.events != tt.events || c.tasks != tt.tasks || c.failedLocal != tt.failed || !maps.Equal(c.activities, tt.activities) {
				t.Errorf("countHistory = %+v, want events %d, tasks %d, failed local %d, activities %v", c, tt.events, tt.tasks, tt.failed, tt.activities)
			}
		})
	}
}

func TestHistoryShapeString(t *testing.T) {
	h := &HistoryShape{Sampled: 200, EventsP50: 12, EventsMax: 31, TasksP50: 1, TasksMax: 3, FailedLocalTries: 2, WithActivity: 2,
		Activities: map[string]int{"SendEvent": 1, "Inquire": 2}}
	want := "200 sampled: events p50 12, max 31; workflow tasks p50 1, max 3; 2 failed local tries; 2 scheduled an activity (Inquire 2, SendEvent 1)"
	if got := h.String(); got != want {
		t.Errorf("String() =\n%s\nwant\n%s", got, want)
	}
}
