package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/internal/auth"
	"github.com/pkgvc/pkgvc/publish"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

func (b DistBody) spec() publish.DistSpec {
	return publish.DistSpec{BasePath: b.BasePath, Repo: b.Repo, Version: b.Version, Remote: b.Remote, Private: b.Private}
}

// NewDistBody encodes a distribution spec.
func NewDistBody(name string, sp publish.DistSpec) DistBody {
	return DistBody{Name: name, BasePath: sp.BasePath, Repo: sp.Repo, Version: sp.Version, Remote: sp.Remote, Private: sp.Private}
}

// needDistSources checks read on what a distribution spec exposes.
func needDistSources(ctx context.Context, b DistBody) error {
	if b.Repo != "" {
		if err := need(ctx, auth.KindRepo, b.Repo, auth.Read); err != nil {
			return err
		}
	}
	if b.Version != "" {
		if err := needRev(ctx, b.Version); err != nil {
			return err
		}
	}
	if b.Remote != "" {
		return need(ctx, auth.KindRemote, b.Remote, auth.Read)
	}
	return nil
}

func (s *Server) distRoutes() {
	a := s.api
	huma.Register(a, op(http.MethodGet, "/distributions", "list-distributions", "List the distributions the token may read", "distributions"),
		func(ctx context.Context, in *struct{ PageParams }) (*pageOutput[publish.Distribution], error) {
			all, err := s.svc.ListDists(ctx)
			if err != nil {
				return nil, apiError(err)
			}
			name := func(d publish.Distribution) string { return d.Name }
			return page("/distributions", in.PageParams, readable(ctx, auth.KindDist, all, name), name, true, nil)
		})

	create := op(http.MethodPost, "/distributions", "create-distribution", "Create a distribution (dist:NAME:admin, read on what it serves)", "distributions")
	create.DefaultStatus = http.StatusCreated
	huma.Register(a, create, func(ctx context.Context, in *struct{ Body DistBody }) (*bodyOutput[*publish.Distribution], error) {
		if err := need(ctx, auth.KindDist, in.Body.Name, auth.Admin); err != nil {
			return nil, err
		}
		if err := needDistSources(ctx, in.Body); err != nil {
			return nil, err
		}
		return body(s.svc.CreateDist(ctx, in.Body.Name, in.Body.spec()))
	})

	huma.Register(a, op(http.MethodGet, "/distributions/{name}", "get-distribution", "Show a distribution (dist:NAME:read)", "distributions"),
		func(ctx context.Context, in *nameInput) (*bodyOutput[*publish.Distribution], error) {
			if err := need(ctx, auth.KindDist, in.Name, auth.Read); err != nil {
				return nil, err
			}
			return body(s.svc.ShowDist(ctx, in.Name))
		})

	huma.Register(a, op(http.MethodPatch, "/distributions/{name}", "update-distribution", "Change a distribution (dist:NAME:admin, read on what it serves)", "distributions"),
		func(ctx context.Context, in *struct {
			Name string `path:"name"`
			Body DistBody
		}) (*bodyOutput[*publish.Distribution], error) {
			if err := need(ctx, auth.KindDist, in.Name, auth.Admin); err != nil {
				return nil, err
			}
			if err := needDistSources(ctx, in.Body); err != nil {
				return nil, err
			}
			return body(s.svc.UpdateDist(ctx, in.Name, in.Body.spec()))
		})

	huma.Register(a, op(http.MethodDelete, "/distributions/{name}", "delete-distribution", "Delete a distribution (dist:NAME:admin)", "distributions"),
		func(ctx context.Context, in *nameInput) (*emptyOutput, error) {
			if err := need(ctx, auth.KindDist, in.Name, auth.Admin); err != nil {
				return nil, err
			}
			return nil, apiError(s.svc.DeleteDist(ctx, in.Name))
		})
}

func (s *Server) remoteRoutes() {
	a := s.api
	huma.Register(a, op(http.MethodGet, "/remotes", "list-remotes", "List the remotes the token may read", "remotes"),
		func(ctx context.Context, in *struct{ PageParams }) (*pageOutput[remote.Remote], error) {
			all, err := s.svc.ListRemotes(ctx)
			if err != nil {
				return nil, apiError(err)
			}
			name := func(r remote.Remote) string { return r.Name }
			return page("/remotes", in.PageParams, readable(ctx, auth.KindRemote, all, name), name, true, nil)
		})

	create := op(http.MethodPost, "/remotes", "create-remote", "Create a remote from its settings, as in the Remote schema (remote:NAME:admin)", "remotes")
	create.DefaultStatus = http.StatusCreated
	huma.Register(a, create, func(ctx context.Context, in *struct {
		Body rawObject `doc:"The remote's fields, as in the remote.Remote schema."`
	}) (*bodyOutput[*remote.Remote], error) {
		raw, err := json.Marshal(in.Body)
		if err != nil {
			return nil, apiError(err)
		}
		var r remote.Remote
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, errorf(repo.ErrInvalid, "invalid remote: %v", err)
		}
		if err := need(ctx, auth.KindRemote, r.Name, auth.Admin); err != nil {
			return nil, err
		}
		return body(s.svc.CreateRemote(ctx, r))
	})

	huma.Register(a, op(http.MethodGet, "/remotes/{name}", "get-remote", "Show a remote (remote:NAME:read)", "remotes"),
		func(ctx context.Context, in *nameInput) (*bodyOutput[*remote.Remote], error) {
			if err := need(ctx, auth.KindRemote, in.Name, auth.Read); err != nil {
				return nil, err
			}
			return body(s.svc.ShowRemote(ctx, in.Name))
		})

	huma.Register(a, op(http.MethodPatch, "/remotes/{name}", "update-remote", "Change some settings of a remote: a JSON merge patch (RFC 7396) of its fields (remote:NAME:admin)", "remotes"),
		func(ctx context.Context, in *struct {
			Name string    `path:"name"`
			Body rawObject `doc:"Fields to change; null resets one."`
		}) (*bodyOutput[*remote.Remote], error) {
			if err := need(ctx, auth.KindRemote, in.Name, auth.Admin); err != nil {
				return nil, err
			}
			return body(s.svc.UpdateRemote(ctx, in.Name, api.RemotePatch(in.Body)))
		})

	huma.Register(a, op(http.MethodDelete, "/remotes/{name}", "delete-remote", "Delete a remote (remote:NAME:admin)", "remotes"),
		func(ctx context.Context, in *nameInput) (*emptyOutput, error) {
			if err := need(ctx, auth.KindRemote, in.Name, auth.Admin); err != nil {
				return nil, err
			}
			return nil, apiError(s.svc.DeleteRemote(ctx, in.Name))
		})

	sync := op(http.MethodPost, "/remotes/{name}/sync", "sync", "Start a sync into a repository as a task (remote:NAME:read, repo:REPO:write)", "remotes")
	sync.DefaultStatus = http.StatusAccepted
	huma.Register(a, sync, func(ctx context.Context, in *struct {
		Name string `path:"name"`
		Body SyncBody
	}) (*bodyOutput[*api.Task], error) {
		req := SyncTask(in.Name, in.Body.Repo, in.Body.Mirror, in.Body.Message)
		if err := needTask(ctx, req); err != nil {
			return nil, err
		}
		return body(s.svc.StartTask(ctx, req))
	})
}

// needTask checks the scopes a task needs: a sync needs read on the remote
// and write on the repository; anything else (gc, fsck) is store-wide.
func needTask(ctx context.Context, req api.TaskRequest) error {
	if req.Op != "sync" {
		return needAll(ctx, auth.KindAny, auth.Admin)
	}
	var pos []string
	for i := 0; i < len(req.Args); i++ {
		a := req.Args[i]
		switch {
		case a == "--message" || a == "-m":
			i++
		case strings.HasPrefix(a, "-"):
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) != 2 {
		return errorf(repo.ErrInvalid, "invalid sync task: give the arguments REMOTE REPO")
	}
	if err := need(ctx, auth.KindRemote, pos[0], auth.Read); err != nil {
		return err
	}
	return need(ctx, auth.KindRepo, pos[1], auth.Write)
}

// needTaskOwner lets a token see and cancel its own tasks; others' need
// *:*:admin.
func needTaskOwner(ctx context.Context, t *api.Task) error {
	tok := tokenFrom(ctx)
	if tok != nil && t.By == tok.Name {
		return nil
	}
	return needAll(ctx, auth.KindAny, auth.Admin)
}

func (s *Server) taskRoutes() {
	a := s.api
	huma.Register(a, op(http.MethodGet, "/tasks", "list-tasks", "List tasks: all with *:*:admin, else the token's own", "tasks"),
		func(ctx context.Context, in *struct{ PageParams }) (*pageOutput[api.Task], error) {
			all, err := s.svc.ListTasks(ctx)
			if err != nil {
				return nil, apiError(err)
			}
			tok := tokenFrom(ctx)
			mine := all
			if !allowsAll(tok, auth.KindAny, auth.Admin) {
				mine = nil
				for _, t := range all {
					if t.By == tok.Name {
						mine = append(mine, t)
					}
				}
			}
			return page("/tasks", in.PageParams, mine, func(t api.Task) string { return t.ID }, false, nil)
		})

	start := op(http.MethodPost, "/tasks", "start-task", "Queue an operation (sync, gc, fsck); gc and fsck need *:*:admin", "tasks")
	start.DefaultStatus = http.StatusAccepted
	huma.Register(a, start, func(ctx context.Context, in *struct{ Body api.TaskRequest }) (*bodyOutput[*api.Task], error) {
		if err := needTask(ctx, in.Body); err != nil {
			return nil, err
		}
		return body(s.svc.StartTask(ctx, in.Body))
	})

	huma.Register(a, op(http.MethodGet, "/tasks/{id}", "get-task", "Show a task", "tasks"),
		func(ctx context.Context, in *struct {
			ID string `path:"id"`
		}) (*bodyOutput[*api.Task], error) {
			t, err := s.svc.ShowTask(ctx, in.ID)
			if err != nil {
				return nil, apiError(err)
			}
			if err := needTaskOwner(ctx, t); err != nil {
				return nil, err
			}
			return &bodyOutput[*api.Task]{Body: t}, nil
		})

	huma.Register(a, op(http.MethodPost, "/tasks/{id}/cancel", "cancel-task", "Cancel a task", "tasks"),
		func(ctx context.Context, in *struct {
			ID string `path:"id"`
		}) (*bodyOutput[*api.Task], error) {
			t, err := s.svc.ShowTask(ctx, in.ID)
			if err != nil {
				return nil, apiError(err)
			}
			if err := needTaskOwner(ctx, t); err != nil {
				return nil, err
			}
			return body(s.svc.CancelTask(ctx, in.ID))
		})
}

func (s *Server) scheduleRoutes() {
	a := s.api
	admin := func(ctx context.Context) error { return needAll(ctx, auth.KindAny, auth.Admin) }
	huma.Register(a, op(http.MethodGet, "/schedules", "list-schedules", "List schedules (*:*:admin)", "schedules"),
		func(ctx context.Context, in *struct{ PageParams }) (*pageOutput[api.Schedule], error) {
			if err := admin(ctx); err != nil {
				return nil, err
			}
			all, err := s.svc.ListSchedules(ctx)
			if err != nil {
				return nil, apiError(err)
			}
			return page("/schedules", in.PageParams, all, func(s api.Schedule) string { return s.Name }, false, nil)
		})

	create := op(http.MethodPost, "/schedules", "create-schedule", "Create a schedule (*:*:admin)", "schedules")
	create.DefaultStatus = http.StatusCreated
	huma.Register(a, create, func(ctx context.Context, in *struct{ Body ScheduleBody }) (*bodyOutput[*api.Schedule], error) {
		if err := admin(ctx); err != nil {
			return nil, err
		}
		return body(s.svc.CreateSchedule(ctx, api.Schedule{Name: in.Body.Name, Cron: in.Body.Cron, Request: in.Body.Request}))
	})

	huma.Register(a, op(http.MethodDelete, "/schedules/{name}", "delete-schedule", "Delete a schedule (*:*:admin)", "schedules"),
		func(ctx context.Context, in *nameInput) (*emptyOutput, error) {
			if err := admin(ctx); err != nil {
				return nil, err
			}
			return nil, apiError(s.svc.DeleteSchedule(ctx, in.Name))
		})
}

func (s *Server) tokenRoutes() {
	a := s.api
	admin := func(ctx context.Context) error { return needAll(ctx, auth.KindAny, auth.Admin) }
	huma.Register(a, op(http.MethodGet, "/tokens", "list-tokens", "List tokens, never their secrets (*:*:admin)", "tokens"),
		func(ctx context.Context, in *struct{ PageParams }) (*pageOutput[api.Token], error) {
			if err := admin(ctx); err != nil {
				return nil, err
			}
			all, err := s.svc.ListTokens(ctx)
			if err != nil {
				return nil, apiError(err)
			}
			return page("/tokens", in.PageParams, all, func(t api.Token) string { return t.Name }, true, nil)
		})

	create := op(http.MethodPost, "/tokens", "create-token", "Create a token; its secret is shown once (*:*:admin)", "tokens")
	create.DefaultStatus = http.StatusCreated
	huma.Register(a, create, func(ctx context.Context, in *struct{ Body TokenBody }) (*bodyOutput[TokenCreated], error) {
		if err := admin(ctx); err != nil {
			return nil, err
		}
		o, err := in.Body.TokenRequest()
		if err != nil {
			return nil, apiError(err)
		}
		tok, secret, err := s.svc.CreateToken(ctx, o)
		if err != nil {
			return nil, apiError(err)
		}
		return &bodyOutput[TokenCreated]{Body: TokenCreated{Token: *tok, Secret: secret}}, nil
	})

	huma.Register(a, op(http.MethodDelete, "/tokens/{name}", "revoke-token", "Revoke a token (*:*:admin)", "tokens"),
		func(ctx context.Context, in *nameInput) (*emptyOutput, error) {
			if err := admin(ctx); err != nil {
				return nil, err
			}
			return nil, apiError(s.svc.RevokeToken(ctx, in.Name))
		})
}
