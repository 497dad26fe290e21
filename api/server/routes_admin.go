package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/pkgvc/pkgvc/api"
	"github.com/pkgvc/pkgvc/api/wire"
	"github.com/pkgvc/pkgvc/auth"
	"github.com/pkgvc/pkgvc/dist"
	"github.com/pkgvc/pkgvc/httpx"
	"github.com/pkgvc/pkgvc/remote"
	"github.com/pkgvc/pkgvc/repo"
)

// needDistSources checks what a distribution spec asks: read on what it
// serves, and, when it has a remote, read on the remote and write on the
// repository it follows, since pulling through commits into it.
func (s *Server) needDistSources(ctx context.Context, b wire.DistBody) error {
	if b.Repo != "" {
		level := auth.Read
		if b.Remote != "" {
			level = auth.Write
		}
		if err := need(ctx, auth.KindRepo, b.Repo, level); err != nil {
			return err
		}
	}
	if b.Version != "" {
		if err := s.needRev(ctx, b.Version); err != nil {
			return err
		}
	}
	if b.Remote != "" {
		return need(ctx, auth.KindRemote, b.Remote, auth.Read)
	}
	return nil
}

// mergedDist is the spec a distribution has after patch b, as
// dist.Dists.Update makes it.
func mergedDist(d *dist.Distribution, b wire.DistBody) wire.DistBody {
	m := wire.DistBody{Name: d.Name, BasePath: d.BasePath, Repo: d.Repo, Remote: d.Remote}
	if d.Repo == "" && !d.Version.IsZero() {
		m.Version = d.Version.String()
	}
	if b.BasePath != "" {
		m.BasePath = b.BasePath
	}
	switch {
	case b.Repo != "":
		m.Repo, m.Version = b.Repo, ""
	case b.Version != "":
		m.Repo, m.Version = "", b.Version
	}
	if b.Remote != "" {
		m.Remote = b.Remote
	}
	return m
}

// needDistUpdate checks a change of distribution d: read on the sources
// the patch names, and on the merged spec what needDistSources asks when
// the result pulls through a remote or its privacy changes.
func (s *Server) needDistUpdate(ctx context.Context, d *dist.Distribution, b wire.DistBody) error {
	if b.Repo != "" {
		if err := need(ctx, auth.KindRepo, b.Repo, auth.Read); err != nil {
			return err
		}
	}
	if b.Version != "" {
		if err := s.needRev(ctx, b.Version); err != nil {
			return err
		}
	}
	m := mergedDist(d, b)
	if m.Remote != "" || (b.Private != nil && *b.Private != d.Private) {
		return s.needDistSources(ctx, m)
	}
	return nil
}

func (s *Server) distRoutes() {
	a := s.api
	huma.Register(a, op(http.MethodGet, "/distributions", "list-distributions", "List the distributions the token may read", "distributions"),
		func(ctx context.Context, in *struct{ PageParams }) (*pageOutput[dist.Distribution], error) {
			all, err := s.svc.ListDists(ctx)
			if err != nil {
				return nil, apiError(err)
			}
			name := func(d dist.Distribution) string { return d.Name }
			tok := tokenFrom(ctx)
			var mine []dist.Distribution
			for _, d := range all {
				if tok != nil && tok.ReadsDist(d.Name, d.ServedRepo()) {
					mine = append(mine, d)
				}
			}
			return page("/distributions", in.PageParams, mine, name, true, nil)
		})

	create := op(http.MethodPost, "/distributions", "create-distribution", "Create a distribution (dist:NAME:admin, read on what it serves)", "distributions")
	create.DefaultStatus = http.StatusCreated
	huma.Register(a, create, func(ctx context.Context, in *struct{ Body wire.DistBody }) (*bodyOutput[*dist.Distribution], error) {
		if err := need(ctx, auth.KindDist, in.Body.Name, auth.Admin); err != nil {
			return nil, err
		}
		if err := s.needDistSources(ctx, in.Body); err != nil {
			return nil, err
		}
		return body(s.svc.CreateDist(ctx, in.Body.Name, in.Body.Spec()))
	})

	huma.Register(a, op(http.MethodGet, "/distributions/{name}", "get-distribution", "Show a distribution (dist:NAME:read, or repo:REPO:read on the repository it serves)", "distributions"),
		func(ctx context.Context, in *nameInput) (*bodyOutput[*dist.Distribution], error) {
			if err := s.needDistRead(ctx, in.Name); err != nil {
				return nil, err
			}
			return body(s.svc.ShowDist(ctx, in.Name))
		})

	huma.Register(a, op(http.MethodPatch, "/distributions/{name}", "update-distribution", "Change a distribution (dist:NAME:admin, read on what it serves)", "distributions"),
		func(ctx context.Context, in *struct {
			Name string `path:"name"`
			Body wire.DistBody
		}) (*bodyOutput[*dist.Distribution], error) {
			if err := need(ctx, auth.KindDist, in.Name, auth.Admin); err != nil {
				return nil, err
			}
			cur, err := s.svc.ShowDist(ctx, in.Name)
			if err != nil {
				return nil, apiError(err)
			}
			if err := s.needDistUpdate(ctx, cur, in.Body); err != nil {
				return nil, err
			}
			return body(s.svc.UpdateDist(ctx, in.Name, in.Body.Spec()))
		})

	huma.Register(a, op(http.MethodPost, "/distributions/{name}/prune", "prune-distribution", "Drop from the repository a distribution follows what its settings say is due, such as images not pulled within retain_unpulled, as a new version (dist:NAME:admin and repo:REPO:write)", "distributions"),
		func(ctx context.Context, in *nameInput) (*bodyOutput[*dist.PruneResult], error) {
			if err := need(ctx, auth.KindDist, in.Name, auth.Admin); err != nil {
				return nil, err
			}
			cur, err := s.svc.ShowDist(ctx, in.Name)
			if err != nil {
				return nil, apiError(err)
			}
			if cur.Repo != "" {
				if err := need(ctx, auth.KindRepo, cur.Repo, auth.Write); err != nil {
					return nil, err
				}
			}
			return body(s.svc.PruneDist(ctx, in.Name))
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
		for _, f := range serverFiles {
			if f.get(&r) != "" {
				if err := needServerFile(ctx, f.field); err != nil {
					return nil, err
				}
			}
		}
		res, err := s.svc.CreateRemote(ctx, r)
		return body(res, redactFileError(ctx, err))
	})

	huma.Register(a, op(http.MethodGet, "/remotes/{name}", "get-remote", "Show a remote (remote:NAME:read)", "remotes"),
		func(ctx context.Context, in *nameInput) (*bodyOutput[*remote.Remote], error) {
			if err := need(ctx, auth.KindRemote, in.Name, auth.Read); err != nil {
				return nil, err
			}
			return body(s.svc.ShowRemote(ctx, in.Name))
		})

	huma.Register(a, op(http.MethodPatch, "/remotes/{name}", "update-remote", "Change some settings of a remote: a JSON merge patch (RFC 7396) of its fields (remote:NAME:admin; *:*:admin to set files of the server, or to change where a remote with credentials sends them)", "remotes"),
		func(ctx context.Context, in *struct {
			Name string    `path:"name"`
			Body rawObject `doc:"Fields to change; null resets one."`
		}) (*bodyOutput[*remote.Remote], error) {
			if err := need(ctx, auth.KindRemote, in.Name, auth.Admin); err != nil {
				return nil, err
			}
			if err := s.needRemotePatch(ctx, in.Name, in.Body); err != nil {
				return nil, err
			}
			res, err := s.svc.UpdateRemote(ctx, in.Name, api.RemotePatch(in.Body))
			return body(res, redactFileError(ctx, err))
		})

	huma.Register(a, op(http.MethodDelete, "/remotes/{name}", "delete-remote", "Delete a remote (remote:NAME:admin); refused (in_use) while distributions pull through it, unless force", "remotes"),
		func(ctx context.Context, in *struct {
			Name  string `path:"name"`
			Force bool   `query:"force" doc:"Delete it even while distributions pull through it: they stop pulling through."`
		}) (*bodyOutput[wire.RemoteDeleted], error) {
			if err := need(ctx, auth.KindRemote, in.Name, auth.Admin); err != nil {
				return nil, err
			}
			detached, err := s.svc.DeleteRemote(ctx, in.Name, in.Force)
			if err != nil {
				return nil, apiError(err)
			}
			if detached == nil {
				detached = []string{}
			}
			return body(wire.RemoteDeleted{Name: in.Name, Detached: detached}, nil)
		})

	sync := op(http.MethodPost, "/remotes/{name}/sync", "sync", "Start a sync into a repository as a task (remote:NAME:read, repo:REPO:write)", "remotes")
	sync.DefaultStatus = http.StatusAccepted
	huma.Register(a, sync, func(ctx context.Context, in *struct {
		Name string `path:"name"`
		Body wire.SyncBody
	}) (*bodyOutput[*api.Task], error) {
		req := wire.SyncTask(in.Name, in.Body.Repo, in.Body.Mirror, in.Body.Message)
		if err := needTask(ctx, req); err != nil {
			return nil, err
		}
		return body(s.svc.StartTask(ctx, req))
	})
}

// serverFiles are the remote fields that name files on the server, which
// a sync reads and sends upstream.
var serverFiles = []struct {
	field string
	get   func(*remote.Remote) string
}{
	{"password_file", func(r *remote.Remote) string { return r.PasswordFile }},
	{"ca_cert", func(r *remote.Remote) string { return r.CACert }},
	{"client_cert", func(r *remote.Remote) string { return r.ClientCert }},
	{"client_key", func(r *remote.Remote) string { return r.ClientKey }},
	{"proxy_password_file", func(r *remote.Remote) string { return r.ProxyPasswordFile }},
}

// needServerFile checks that the token may name files of the server:
// they could send any file the server can read to any URL.
func needServerFile(ctx context.Context, field string) error {
	tok := tokenFrom(ctx)
	if tok != nil && allowsAll(tok, auth.KindAny, auth.Admin) {
		return nil
	}
	name := ""
	if tok != nil {
		name = tok.Name
	}
	return errorf(auth.ErrForbidden, "forbidden: permission denied: setting %s (a file on the server) needs the scope *:*:admin, which token %s lacks", field, name)
}

// destinations are the remote fields that say where a sync sends the
// remote's credentials (and tls_insecure, whether it checks who answers).
var destinations = []string{"url", "proxy", "proxy_username", "tls_insecure"}

// needRemotePatch checks the server-file fields a patch changes, and a
// change of where a remote holding credentials sends them: a token that
// may not name the files may not redirect what they hold either.
func (s *Server) needRemotePatch(ctx context.Context, name string, p rawObject) error {
	var cur *remote.Remote
	load := func() error {
		if cur != nil {
			return nil
		}
		var err error
		if cur, err = s.svc.ShowRemote(ctx, name); err != nil {
			return apiError(err)
		}
		return nil
	}
	for _, field := range destinations {
		raw, ok := p[field]
		if !ok {
			continue
		}
		if err := load(); err != nil {
			return err
		}
		creds := credentialFiles(cur)
		if len(creds) == 0 || !changes(cur, field, raw) {
			continue
		}
		if tok := tokenFrom(ctx); tok != nil && allowsAll(tok, auth.KindAny, auth.Admin) {
			continue
		}
		return errorf(auth.ErrForbidden, "forbidden: permission denied: changing %s of remote %s, which sends the credentials of its %s, needs the scope *:*:admin", field, name, strings.Join(creds, ", "))
	}
	for _, f := range serverFiles {
		raw, ok := p[f.field]
		if !ok {
			continue
		}
		if err := load(); err != nil {
			return err
		}
		var v string
		if string(raw) != "null" && json.Unmarshal(raw, &v) != nil {
			return errorf(repo.ErrInvalid, "invalid remote patch: %s: want a string", f.field)
		}
		if v != f.get(cur) {
			if err := needServerFile(ctx, f.field); err != nil {
				return err
			}
		}
	}
	return nil
}

// credentialFiles names the credential fields set on r.
func credentialFiles(r *remote.Remote) []string {
	var out []string
	for _, f := range serverFiles {
		if f.field != "ca_cert" && f.get(r) != "" {
			out = append(out, f.field)
		}
	}
	return out
}

// changes reports whether raw, a merge patch's value for field, differs
// from r's; null, "" and false are all the unset value.
func changes(r *remote.Remote, field string, raw json.RawMessage) bool {
	unset := func(v any) any {
		if v == "" || v == false {
			return nil
		}
		return v
	}
	var cur map[string]any
	if b, err := json.Marshal(r); err != nil || json.Unmarshal(b, &cur) != nil {
		return true
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return true
	}
	return !reflect.DeepEqual(unset(v), unset(cur[field]))
}

// redactFileError keeps why a remote's file did not load from tokens that
// may not name such files: the OS error would tell whether a file exists.
func redactFileError(ctx context.Context, err error) error {
	var fe *httpx.FileError
	if err == nil || !errors.As(err, &fe) {
		return err
	}
	if tok := tokenFrom(ctx); tok != nil && allowsAll(tok, auth.KindAny, auth.Admin) {
		return err
	}
	return errorf(repo.ErrInvalid, "invalid remote: cannot read its %s", fe.What)
}

// needTask checks the scopes a task needs: a sync needs read on the remote
// and write on the repository; anything else (gc, fsck, reflog-expire) is
// store-wide.
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
// *:*:admin, and are not found without it, as missing ones are.
func needTaskOwner(ctx context.Context, id string, t *api.Task) error {
	tok := tokenFrom(ctx)
	if tok != nil && (t.By == tok.Name || allowsAll(tok, auth.KindAny, auth.Admin)) {
		return nil
	}
	return errorf(repo.ErrNotFound, "task %s not found", id)
}

// showTask returns task id if the token may see it; a non-admin gets the
// same not-found for another token's task as for a missing one.
func (s *Server) showTask(ctx context.Context, id string) (*api.Task, error) {
	t, err := s.svc.ShowTask(ctx, id)
	if errors.Is(err, repo.ErrNotFound) {
		if tok := tokenFrom(ctx); tok == nil || !allowsAll(tok, auth.KindAny, auth.Admin) {
			return nil, errorf(repo.ErrNotFound, "task %s not found", id)
		}
	}
	if err != nil {
		return nil, apiError(err)
	}
	if err := needTaskOwner(ctx, id, t); err != nil {
		return nil, err
	}
	return t, nil
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

	start := op(http.MethodPost, "/tasks", "start-task", "Queue an operation (sync, gc, fsck, reflog-expire); all but sync need *:*:admin", "tasks")
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
			t, err := s.showTask(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &bodyOutput[*api.Task]{Body: t}, nil
		})

	huma.Register(a, op(http.MethodPost, "/tasks/{id}/cancel", "cancel-task", "Cancel a task", "tasks"),
		func(ctx context.Context, in *struct {
			ID string `path:"id"`
		}) (*bodyOutput[*api.Task], error) {
			if _, err := s.showTask(ctx, in.ID); err != nil {
				return nil, err
			}
			return body(s.svc.CancelTask(ctx, in.ID))
		})
}

func (s *Server) reflogRoutes() {
	huma.Register(s.api, op(http.MethodPost, "/reflog/expire", "expire-reflog", "Delete the reflog entries older than a time, of every ref; gc then collects what only they kept (*:*:admin)", "maintenance"),
		func(ctx context.Context, in *struct{ Body wire.ReflogExpireBody }) (*bodyOutput[*repo.ReflogExpireResult], error) {
			if err := needAll(ctx, auth.KindAny, auth.Admin); err != nil {
				return nil, err
			}
			return body(s.svc.ReflogExpire(ctx, in.Body.OlderThan))
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
	huma.Register(a, create, func(ctx context.Context, in *struct{ Body wire.ScheduleBody }) (*bodyOutput[*api.Schedule], error) {
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
	huma.Register(a, create, func(ctx context.Context, in *struct{ Body wire.TokenBody }) (*bodyOutput[wire.TokenCreated], error) {
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
		return &bodyOutput[wire.TokenCreated]{Body: wire.TokenCreated{Token: *tok, Secret: secret}}, nil
	})

	huma.Register(a, op(http.MethodDelete, "/tokens/{name}", "revoke-token", "Revoke a token (*:*:admin)", "tokens"),
		func(ctx context.Context, in *nameInput) (*emptyOutput, error) {
			if err := admin(ctx); err != nil {
				return nil, err
			}
			return nil, apiError(s.svc.RevokeToken(ctx, in.Name))
		})
}
