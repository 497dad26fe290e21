package python

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/pkgvc/pkgvc/repo"
)

// ActionYank is the action (repo.Actor) that runs a YankRequest: the
// REST API's POST /repositories/{name}/python/yank.
const ActionYank = "yank"

var _ repo.Actor = Kind{}

// Act runs the python kind's actions on a repository (repo.Actor):
// ActionYank, req a YankRequest.
func (Kind) Act(ctx context.Context, st *repo.Store, repoName, action string, req json.RawMessage) (*repo.CommitResult, error) {
	if action != ActionYank {
		return nil, fmt.Errorf("%w: the python kind has no action %q (it has %s)", repo.ErrNotFound, action, ActionYank)
	}
	var yr YankRequest
	if err := json.Unmarshal(req, &yr); err != nil {
		return nil, fmt.Errorf("%w: %s request: %v", repo.ErrInvalid, action, err)
	}
	return Yank(ctx, st, repoName, yr)
}

// YankRequest marks one distribution file yanked (PEP 592), or clears
// the mark.
type YankRequest struct {
	// File is the package's path in the repository, or its file name.
	File string `json:"file"`
	// Reason is shown to users of the yanked file; yanking again only
	// changes it.
	Reason string `json:"reason,omitempty"`
	// Unyank clears the mark (and its reason) instead.
	Unyank bool `json:"unyank,omitempty"`
}

// Yank applies req to python repository repoName as one new version, by
// the metadata keys yanked and yanked_reason of the file's record. A
// request that changes nothing (yanking a file yanked with the same
// reason, unyanking one that is not yanked) makes no version: the result
// says Changed false.
func Yank(ctx context.Context, st *repo.Store, repoName string, req YankRequest) (*repo.CommitResult, error) {
	info, err := st.ShowRepo(ctx, repoName)
	if err != nil {
		return nil, err
	}
	if info.Kind != (Kind{}).Name() {
		return nil, fmt.Errorf("%w: repository %s holds %s content; only python packages are yanked", repo.ErrInvalid, repoName, info.Kind)
	}
	if info.Head == nil {
		return nil, fmt.Errorf("%w: %s in repository %s, which has no versions yet", repo.ErrPathNotFound, req.File, repoName)
	}
	rec, err := findFile(ctx, st, repoName, req.File)
	if err != nil {
		return nil, err
	}
	if _, ok := rec.Metadata[MetaPackageType]; !ok {
		return nil, fmt.Errorf("%w: %s in repository %s is not a python distribution", repo.ErrInvalid, rec.Path, repoName)
	}
	u := repo.MetadataUpdate{Path: rec.Path}
	msg := "yank " + rec.Path
	switch {
	case req.Unyank:
		u.Set, u.Delete = map[string]string{MetaYanked: "false"}, []string{MetaYankedReason}
		msg = "unyank " + rec.Path
	case req.Reason == "":
		u.Set, u.Delete = map[string]string{MetaYanked: "true"}, []string{MetaYankedReason}
	default:
		u.Set = map[string]string{MetaYanked: "true", MetaYankedReason: req.Reason}
		msg += ": " + req.Reason
	}
	res, err := st.Commit(ctx, repoName, repo.CommitRequest{Updates: []repo.MetadataUpdate{u}, Message: msg})
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", strings.Fields(msg)[0], rec.Path, err)
	}
	return res, nil
}

// findFile finds the head's record at path file, else the one record
// whose file name is file.
func findFile(ctx context.Context, st *repo.Store, repoName, file string) (repo.Record, error) {
	if file == "" {
		return repo.Record{}, fmt.Errorf("%w: name the file to yank", repo.ErrInvalid)
	}
	rec, err := st.Stat(ctx, repoName, file)
	if err == nil || !errors.Is(err, repo.ErrNotFound) || strings.Contains(file, "/") {
		return rec, err
	}
	recs, err := st.List(ctx, repoName)
	if err != nil {
		return repo.Record{}, err
	}
	var found []repo.Record
	for _, r := range recs {
		if path.Base(r.Path) == file {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 0:
		return repo.Record{}, fmt.Errorf("%w: no package named %s in repository %s", repo.ErrPathNotFound, file, repoName)
	case 1:
		return found[0], nil
	}
	return repo.Record{}, fmt.Errorf("%w: %d packages of repository %s are named %s (%s, %s, ...): give its path", repo.ErrInvalid, len(found), repoName, file, found[0].Path, found[1].Path)
}
