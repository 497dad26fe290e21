package tasks

import (
	"fmt"

	"github.com/pkgvc/pkgvc/repo"
)

var (
	// ErrInvalid reports a bad request: an unknown operation, bad
	// arguments, a bad cron expression or name. It is repo.ErrInvalid.
	ErrInvalid = repo.ErrInvalid
	// ErrTaskNotFound reports an unknown task id.
	ErrTaskNotFound = fmt.Errorf("task %w", repo.ErrNotFound)
	// ErrScheduleNotFound reports an unknown schedule name.
	ErrScheduleNotFound = fmt.Errorf("schedule %w", repo.ErrNotFound)
	// ErrScheduleExists reports a schedule name already taken.
	ErrScheduleExists = fmt.Errorf("schedule %w", repo.ErrExists)
)
