package registry

import "context"

// recordPull writes down that ref was pulled from the repository the
// distribution follows (at most once an hour per image, see
// container.PullRecorder), for its retain_unpulled setting. A failure
// is logged: the pull is served regardless.
func (q *request) recordPull(ctx context.Context, ref reference) {
	d := q.t.Dist
	if d.Repo == "" {
		return
	}
	if err := q.g.pulls.Record(ctx, d.Repo, ref.name()); err != nil && ctx.Err() == nil {
		q.g.s.Logger().Warn("record pull", "dist", d.Name, "repo", d.Repo, "reference", ref.name(), "err", err)
	}
}
