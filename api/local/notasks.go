package local

import (
	"context"
	"errors"
	"fmt"

	"github.com/pkgvc/pkgvc/api"
)

// ErrNoTasks reports a task or schedule call on a Service that was given
// no api.Tasks or api.Schedules; it matches errors.ErrUnsupported.
var ErrNoTasks = fmt.Errorf("tasks and schedules are not available here: %w", errors.ErrUnsupported)

// noTasks is the Tasks and Schedules of a Service given none.
type noTasks struct{}

func (noTasks) StartTask(context.Context, api.TaskRequest) (*api.Task, error) { return nil, ErrNoTasks }
func (noTasks) ListTasks(context.Context) ([]api.Task, error)                 { return nil, ErrNoTasks }
func (noTasks) ShowTask(context.Context, string) (*api.Task, error)           { return nil, ErrNoTasks }
func (noTasks) CancelTask(context.Context, string) (*api.Task, error)         { return nil, ErrNoTasks }
func (noTasks) WaitTask(context.Context, string, func(*api.Task)) (*api.Task, error) {
	return nil, ErrNoTasks
}
func (noTasks) CreateSchedule(context.Context, api.Schedule) (*api.Schedule, error) {
	return nil, ErrNoTasks
}
func (noTasks) ListSchedules(context.Context) ([]api.Schedule, error) { return nil, ErrNoTasks }
func (noTasks) DeleteSchedule(context.Context, string) error          { return ErrNoTasks }
