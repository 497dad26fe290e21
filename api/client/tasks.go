package client

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/pkgvc/pkgvc/api"
)

// StartTask queues an operation on the server.
func (c *Client) StartTask(ctx context.Context, req api.TaskRequest) (*api.Task, error) {
	var out api.Task
	return ptr(&out, c.do(ctx, http.MethodPost, "/tasks", nil, req, &out))
}

// ListTasks lists the tasks the token may see.
func (c *Client) ListTasks(ctx context.Context) ([]api.Task, error) {
	return all[api.Task](ctx, c, "/tasks", nil, 0)
}

// ShowTask describes a task.
func (c *Client) ShowTask(ctx context.Context, id string) (*api.Task, error) {
	var out api.Task
	return ptr(&out, c.do(ctx, http.MethodGet, "/tasks/"+esc(id), nil, nil, &out))
}

// CancelTask cancels a task.
func (c *Client) CancelTask(ctx context.Context, id string) (*api.Task, error) {
	var out api.Task
	return ptr(&out, c.do(ctx, http.MethodPost, "/tasks/"+esc(id)+"/cancel", nil, nil, &out))
}

// WaitTask polls the task until it is done, from every 100ms to every 2s
// by default, calling progress when it changes. Polls that fail for want
// of a connection are retried.
func (c *Client) WaitTask(ctx context.Context, id string, progress func(*api.Task)) (*api.Task, error) {
	wait := c.pollMin
	var last api.Progress
	fails := 0
	for first := true; ; first = false {
		t, err := c.ShowTask(ctx, id)
		switch {
		case err != nil && retryable(err) && fails < c.retries:
			fails++
		case err != nil:
			return nil, err
		default:
			fails = 0
			if progress != nil && (first || t.Progress != last || t.Done()) {
				progress(t)
			}
			last = t.Progress
			if t.Done() {
				return t, nil
			}
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
		wait = min(wait*2, c.pollMax)
	}
}

// TaskError is a task that did not complete.
type TaskError struct {
	Task *api.Task
}

func (e *TaskError) Error() string {
	if e.Task.Error != "" {
		return e.Task.Error
	}
	return "task " + e.Task.ID + " " + e.Task.State
}

// Unwrap gives context.Canceled for a canceled task, else the sentinels
// of the task's error code, so that errors.Is matches a failed task's
// error as it matches the error of the operation run locally.
func (e *TaskError) Unwrap() []error {
	if e.Task.State == api.TaskCanceled {
		return []error{context.Canceled}
	}
	return codeErrors(e.Task.ErrorCode)
}

// runTask waits for t and decodes its result into out, also when the task
// failed; it reports whether there was a result. If ctx ends first the
// task is canceled, as a local operation would stop.
func (c *Client) runTask(ctx context.Context, t *api.Task, progress func(*api.Task), out any) (bool, error) {
	done, err := c.WaitTask(ctx, t.ID, progress)
	if err != nil {
		if ctx.Err() != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_, _ = c.CancelTask(cctx, t.ID)
			cancel()
		}
		return false, err
	}
	decoded, rerr := decodeResult(done, out)
	if done.State != api.TaskCompleted {
		if rerr != nil {
			return false, errors.Join(&TaskError{Task: done}, rerr)
		}
		return decoded, &TaskError{Task: done}
	}
	return decoded, rerr
}
