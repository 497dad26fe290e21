package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkgvc/pkgvc/app"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/api/local"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/remote"
)

// dialed records what --server opened: a local store stands in for the
// server, so these tests check the switch, not the REST API.
type dialed struct {
	store      string
	url, token string
	opts       []local.Option
}

func (d *dialed) dial(url, token string) (api.Service, error) {
	d.url, d.token = url, token
	a, err := app.Open(context.Background(), d.store, app.WithCreate(), app.WithServiceOptions(d.opts...))
	if err != nil {
		return nil, err
	}
	return a.Service(), nil
}

func (d *dialed) run(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, dial: d.dial}
	code := e.run(t.Context(), append([]string{"pkgvc"}, args...))
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func TestServerFlag(t *testing.T) {
	h := newHarness(t)
	d := &dialed{store: filepath.Join(t.TempDir(), "server")}
	tokenFile := h.file("token", []byte("  s3cret \n\n"))

	r := d.run(t, "--store", h.store, "--server", "http://pkgvc.example:8080", "--token-file", tokenFile, "repo", "create", "dev")
	require.Equal(t, 0, r.code, r)
	require.Equal(t, "created repository dev (kind file)\n", r.stdout)
	require.Equal(t, "http://pkgvc.example:8080", d.url)
	require.Equal(t, "s3cret", d.token, "the token file's surrounding white space is ignored")
	requireRefused(t, h.run("repo", "list"), "no store at "+h.store) // --server won over --store: no store was made

	t.Setenv("PKGVC_STORE", h.store)
	t.Setenv("PKGVC_SERVER", "http://env.example")
	t.Setenv("PKGVC_TOKEN", "from-env\n")
	r = d.run(t, "--json", "repo", "list")
	require.Equal(t, 0, r.code, r)
	require.Contains(t, r.stdout, `"name": "dev"`)
	require.Equal(t, "http://env.example", d.url)
	require.Equal(t, "from-env", d.token)

	r = d.run(t, "serve")
	require.Equal(t, 2, r.code, r)
	require.Contains(t, r.stderr, "local store")

	r = d.run(t, "--token-file", filepath.Join(t.TempDir(), "missing"), "repo", "list")
	require.Equal(t, 1, r.code, r)
	require.Contains(t, r.stderr, "token file")
}

func TestServerFlagWithoutClient(t *testing.T) {
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr}
	require.Equal(t, 1, e.run(t.Context(), []string{"pkgvc", "--server", "http://h", "repo", "list"}))
	require.Contains(t, stderr.String(), "--server")
}

// TestRemoteFlagsAreFields checks that every setting flag of remote
// create and update names a field of remote.Remote or a setting a kind
// declares.
func TestRemoteFlagsAreFields(t *testing.T) {
	fields := map[string]bool{}
	rt := reflect.TypeFor[remote.Remote]()
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		fields[name] = true
	}
	reg := all.Syncers()
	for _, kind := range reg.Kinds() {
		for _, o := range reg.RemoteOptions(kind) {
			fields[o.Field] = true // a kind's setting, beside the common fields
		}
	}
	for _, f := range remoteFlags(false) {
		name := f.Names()[0]
		require.True(t, fields[remoteField(name)], "--%s sets %q, which is no Remote field", name, remoteField(name))
	}
}

// fakeTasks keeps tasks and schedules in memory; every task it starts has
// already failed or completed as the test says.
type fakeTasks struct {
	mu        sync.Mutex
	tasks     []api.Task
	schedules []api.Schedule
	fail      string // error of the tasks started
}

func (f *fakeTasks) StartTask(_ context.Context, req api.TaskRequest) (*api.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := api.Task{ID: "t" + string(rune('1'+len(f.tasks))), Request: req, State: api.TaskQueued, Created: time.Unix(1e9, 0)}
	f.tasks = append(f.tasks, t)
	return &t, nil
}

func (f *fakeTasks) ListTasks(context.Context) ([]api.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]api.Task(nil), f.tasks...), nil
}

func (f *fakeTasks) ShowTask(_ context.Context, id string) (*api.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.tasks {
		if f.tasks[i].ID == id {
			t := f.tasks[i]
			return &t, nil
		}
	}
	return nil, errors.New("task " + id + " not found")
}

func (f *fakeTasks) WaitTask(ctx context.Context, id string, progress func(*api.Task)) (*api.Task, error) {
	t, err := f.ShowTask(ctx, id)
	if err != nil {
		return nil, err
	}
	t.State, t.Error = api.TaskCompleted, f.fail
	if f.fail != "" {
		t.State = api.TaskFailed
	}
	return t, nil
}

func (f *fakeTasks) CancelTask(ctx context.Context, id string) (*api.Task, error) {
	t, err := f.ShowTask(ctx, id)
	if err != nil {
		return nil, err
	}
	t.State = api.TaskCanceled
	return t, nil
}

func (f *fakeTasks) CreateSchedule(_ context.Context, s api.Schedule) (*api.Schedule, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.schedules = append(f.schedules, s)
	return &s, nil
}

func (f *fakeTasks) ListSchedules(context.Context) ([]api.Schedule, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]api.Schedule(nil), f.schedules...), nil
}

func (f *fakeTasks) DeleteSchedule(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, s := range f.schedules {
		if s.Name == name {
			f.schedules = append(f.schedules[:i], f.schedules[i+1:]...)
			return nil
		}
	}
	return errors.New("schedule " + name + " not found")
}

func TestTaskCommands(t *testing.T) {
	f := &fakeTasks{}
	d := &dialed{store: filepath.Join(t.TempDir(), "server"), opts: []local.Option{local.WithTasks(f), local.WithSchedules(f)}}
	ok := func(args ...string) string {
		t.Helper()
		r := d.run(t, append([]string{"--server", "http://h"}, args...)...)
		require.Equal(t, 0, r.code, "pkgvc %s\n%s", strings.Join(args, " "), r)
		return r.stdout
	}

	require.Equal(t, "t1\n", ok("sync", "--no-wait", "up", "dev", "--mirror", "-m", "nightly"))
	require.Equal(t, api.TaskRequest{Op: "sync", Args: []string{"up", "dev", "--mirror", "--message", "nightly"}}, f.tasks[0].Request)
	require.Equal(t, "t2\n", ok("gc", "--no-wait", "--grace", "2h", "--dry-run"))
	require.Equal(t, api.TaskRequest{Op: "gc", Args: []string{"--grace", "2h0m0s", "--dry-run"}}, f.tasks[1].Request)
	require.Contains(t, ok("--json", "fsck", "--no-wait"), `"op": "fsck"`)
	require.Equal(t, api.TaskRequest{Op: "fsck"}, f.tasks[2].Request)

	list := ok("task", "list")
	require.Regexp(t, `(?m)^ID +STATE +REQUEST +PROGRESS +CREATED +BY$`, list)
	require.Regexp(t, `(?m)^t1 +queued +sync up dev --mirror --message nightly +- `, list)
	var tasks []api.Task
	require.NoError(t, json.Unmarshal([]byte(ok("--json", "task", "list")), &tasks))
	require.Len(t, tasks, 3)
	require.Contains(t, ok("task", "show", "t2"), "request:  gc --grace 2h0m0s --dry-run")
	require.Contains(t, ok("task", "wait", "t2"), "state:    completed")
	require.Equal(t, "task t1 canceled\n", ok("task", "cancel", "t1"))

	f.fail = "upstream down"
	r := d.run(t, "--server", "http://h", "task", "wait", "t1")
	require.Equal(t, 1, r.code, r)
	require.Contains(t, r.stderr, "task t1 failed: upstream down")

	require.Contains(t, ok("schedule", "create", "nightly", "--cron", "0 2 * * *", "--", "sync", "up", "dev", "--mirror"), "created schedule nightly")
	require.Equal(t, api.Schedule{Name: "nightly", Cron: "0 2 * * *", Request: api.TaskRequest{Op: "sync", Args: []string{"up", "dev", "--mirror"}}}, f.schedules[0])
	require.Regexp(t, `(?m)^nightly +0 2 \* \* \* +sync up dev --mirror +- +- +-$`, ok("schedule", "list"))
	require.Equal(t, "deleted schedule nightly\n", ok("schedule", "delete", "nightly"))
	require.Equal(t, "[]\n", ok("--json", "schedule", "list"))

	for _, args := range [][]string{
		{"schedule", "create", "nightly", "--", "sync", "up", "dev"}, // no --cron
		{"schedule", "create", "nightly", "--cron", "@daily"},        // no request
		{"task", "show"},
	} {
		require.Equal(t, 2, d.run(t, append([]string{"--server", "http://h"}, args...)...).code, args)
	}
}
