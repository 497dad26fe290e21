package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkgvc/pkgvc/app"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/api/client"
	"github.com/pkgvc/pkgvc/api/local"
	"github.com/pkgvc/pkgvc/api/server"
	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/kinds/all"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// env is a store behind a real HTTP API server, and an admin token.
type env struct {
	t         *testing.T
	ctx       context.Context
	svc       *local.Service
	tokens    *auth.Store
	srv       *server.Server
	ts        *httptest.Server
	admin     string
	loc       string // the store's location
	uploadDir string // the upload engine's
	spec      *spec
}

func newEnv(t *testing.T, opts ...server.Option) *env {
	t.Helper()
	e := newEnvNoSpec(t, opts...)
	e.spec = loadSpec(t, e.ts.URL, e.admin)
	return e
}

func newEnvNoSpec(t *testing.T, opts ...server.Option) *env {
	t.Helper()
	ctx := context.Background()
	ft := &fakeTasks{tasks: map[string]*api.Task{}, schedules: map[string]api.Schedule{}}
	loc := t.TempDir()
	ap, err := app.Open(ctx, loc, app.WithCreate(), app.WithServiceOptions(local.WithTasks(ft), local.WithSchedules(ft)))
	require.NoError(t, err)
	svc := ap.Service()
	require.NoError(t, err)
	ft.svc = svc
	ft.stop = make(chan struct{})
	t.Cleanup(func() { // before the store's directory is removed
		close(ft.stop)
		ft.running.Wait()
	})
	tokens := auth.New(svc.Store(), auth.WithCacheTTL(0))
	_, admin, err := tokens.Create(ctx, auth.CreateOptions{Name: "admin", Scopes: scopes(t, "*:*:admin")})
	require.NoError(t, err)
	e := &env{t: t, ctx: ctx, svc: svc, tokens: tokens, admin: admin, loc: loc, uploadDir: ap.Uploads().Dir()}
	e.srv, err = server.New(svc, tokens, append([]server.Option{server.WithUploads(ap.Uploads())}, opts...)...)
	require.NoError(t, err)
	e.ts = httptest.NewServer(e.srv)
	t.Cleanup(e.ts.Close)
	return e
}

func scopes(t *testing.T, ss ...string) []auth.Scope {
	t.Helper()
	var out []auth.Scope
	for _, s := range ss {
		sc, err := auth.ParseScope(s)
		require.NoError(t, err)
		out = append(out, sc)
	}
	return out
}

// token makes a token with scopes and returns its secret.
func (e *env) token(name string, ss ...string) string {
	_, secret, err := e.tokens.Create(e.ctx, auth.CreateOptions{Name: name, Scopes: scopes(e.t, ss...)})
	require.NoError(e.t, err)
	return secret
}

// client returns a client whose every request and response is checked
// against the served OpenAPI document.
func (e *env) client(token string, opts ...client.Option) *client.Client {
	hc := &http.Client{Transport: e.spec.transport(e.t, http.DefaultTransport)}
	c, err := client.New(e.ts.URL, token, append([]client.Option{client.WithHTTPClient(hc), client.WithPoll(5*time.Millisecond, 20*time.Millisecond), client.WithKinds(all.Kinds(), all.Publishers())}, opts...)...)
	require.NoError(e.t, err)
	return c
}

// spec is the served OpenAPI document and the operations seen.
type spec struct {
	doc    *openapi3.T
	router routers.Router

	mu   sync.Mutex
	seen map[string]bool
}

func loadSpec(t *testing.T, base, token string) *spec {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/api/v1/openapi.json", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var head struct {
		OpenAPI string `json:"openapi"`
	}
	require.NoError(t, json.Unmarshal(raw, &head))
	require.True(t, strings.HasPrefix(head.OpenAPI, "3.0"), head.OpenAPI)
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	return &spec{doc: doc, router: router, seen: map[string]bool{}}
}

// operations lists every operation id of the document.
func (s *spec) operations() []string {
	var out []string
	for _, item := range s.doc.Paths.Map() {
		for _, op := range item.Operations() {
			out = append(out, op.OperationID)
		}
	}
	return out
}

func (s *spec) unseen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, id := range s.operations() {
		if !s.seen[id] {
			out = append(out, id)
		}
	}
	return out
}

func (s *spec) transport(t *testing.T, next http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		route, params, err := s.router.FindRoute(req)
		if err != nil {
			t.Errorf("%s %s: not in the OpenAPI document: %v", req.Method, req.URL, err)
			return next.RoundTrip(req)
		}
		s.mu.Lock()
		s.seen[route.Operation.OperationID] = true
		s.mu.Unlock()
		in := &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		}
		if strings.HasPrefix(req.Header.Get("Content-Type"), "application/json") && req.Body != nil {
			raw, err := io.ReadAll(req.Body)
			if err != nil {
				return nil, err
			}
			req.Body = io.NopCloser(bytes.NewReader(raw))
			check := req.Clone(req.Context())
			check.Body = io.NopCloser(bytes.NewReader(raw))
			in.Request = check
			if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
				t.Errorf("%s %s: request does not match the OpenAPI document: %v", req.Method, req.URL.Path, err)
			}
		}
		resp, err := next.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(raw))
		out := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
			Body: io.NopCloser(bytes.NewReader(raw)), Options: &openapi3filter.Options{IncludeResponseStatus: true},
		}
		if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
			t.Errorf("%s %s: %d response does not match the OpenAPI document: %v\n%s", req.Method, req.URL.Path, resp.StatusCode, err, raw)
		}
		return resp, nil
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// fakeTasks runs tasks on the local service in goroutines, as the task
// runner of `pkgvc serve` does, so the API's task endpoints have
// something to show.
type fakeTasks struct {
	svc     *local.Service
	running sync.WaitGroup // tasks still going; the test waits for them before its directories go
	stop    chan struct{}  // closed when the test ends: ends "sleep" tasks

	mu        sync.Mutex
	n         int
	tasks     map[string]*api.Task
	schedules map[string]api.Schedule
}

func (f *fakeTasks) StartTask(ctx context.Context, req api.TaskRequest) (*api.Task, error) {
	f.mu.Lock()
	f.n++
	t := &api.Task{ID: fmt.Sprintf("t%d", f.n), Request: req, State: api.TaskRunning, Created: time.Now().UTC(), By: repo.WhoFrom(ctx)}
	f.tasks[t.ID] = t
	cp := *t
	f.mu.Unlock()
	run := repo.WithWhoContext(context.WithoutCancel(ctx), t.By)
	f.running.Add(1)
	go func() {
		defer f.running.Done()
		res, err := f.run(run, req)
		f.mu.Lock()
		defer f.mu.Unlock()
		if t.State == api.TaskCanceled {
			return
		}
		if b, _ := json.Marshal(res); string(b) != "null" {
			t.Result = b
		}
		t.State, t.Finished = api.TaskCompleted, time.Now().UTC()
		t.Progress = api.Progress{Done: 1, Total: 1, Unit: "files"}
		if err != nil {
			t.State, t.Error, t.ErrorCode = api.TaskFailed, err.Error(), server.ErrorCode(err)
		}
	}()
	return &cp, nil
}

func (f *fakeTasks) run(ctx context.Context, req api.TaskRequest) (any, error) {
	switch req.Op {
	case "sync":
		return f.svc.Sync(ctx, req.Args[0], req.Args[1], remote.SyncOptions{Mirror: len(req.Args) > 2 && req.Args[2] == "--mirror"})
	case "gc":
		return f.svc.GC(ctx, repo.GCOptions{DryRun: len(req.Args) > 0 && req.Args[len(req.Args)-1] == "--dry-run"})
	case "fsck":
		return f.svc.Fsck(ctx, api.FsckOptions{Repair: len(req.Args) > 0 && req.Args[0] == "--repair"})
	case "sleep":
		<-f.stop
		return nil, nil
	}
	return nil, fmt.Errorf("%w: unknown operation %q", repo.ErrInvalid, req.Op)
}

func (f *fakeTasks) ListTasks(context.Context) ([]api.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []api.Task
	for i := 1; i <= f.n; i++ {
		out = append(out, *f.tasks[fmt.Sprintf("t%d", i)])
	}
	return out, nil
}

func (f *fakeTasks) ShowTask(_ context.Context, id string) (*api.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tasks[id]
	if !ok {
		return nil, fmt.Errorf("task %w: %s", repo.ErrNotFound, id)
	}
	cp := *t
	return &cp, nil
}

func (f *fakeTasks) WaitTask(ctx context.Context, id string, progress func(*api.Task)) (*api.Task, error) {
	for {
		t, err := f.ShowTask(ctx, id)
		if err != nil || t.Done() {
			return t, err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (f *fakeTasks) CancelTask(_ context.Context, id string) (*api.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tasks[id]
	if !ok {
		return nil, fmt.Errorf("task %w: %s", repo.ErrNotFound, id)
	}
	if !t.Done() {
		t.State, t.Finished = api.TaskCanceled, time.Now().UTC()
	}
	cp := *t
	return &cp, nil
}

func (f *fakeTasks) CreateSchedule(_ context.Context, s api.Schedule) (*api.Schedule, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, dup := f.schedules[s.Name]; dup {
		return nil, fmt.Errorf("schedule %w: %s", repo.ErrExists, s.Name)
	}
	s.Created = time.Now().UTC()
	f.schedules[s.Name] = s
	return &s, nil
}

func (f *fakeTasks) ListSchedules(context.Context) ([]api.Schedule, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []api.Schedule
	for _, s := range f.schedules {
		out = append(out, s)
	}
	return out, nil
}

func (f *fakeTasks) DeleteSchedule(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.schedules[name]; !ok {
		return fmt.Errorf("schedule %w: %s", repo.ErrNotFound, name)
	}
	delete(f.schedules, name)
	return nil
}
