package upstream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	pep440 "github.com/aquasecurity/go-pep440-version"

	"github.com/pkgvc/pkgvc/internal/parallel"
	kindpython "github.com/pkgvc/pkgvc/kinds/python"
	pyformat "github.com/pkgvc/pkgvc/kinds/python/format"
	"github.com/pkgvc/pkgvc/kinds/python/simplepage"
	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/remote"
)

// Kind is the upstream and content kind name.
const Kind = "python"

// PackagesDir is the directory synced files go under, one subdirectory
// per normalized project name.
const PackagesDir = "packages"

// MaxProjects bounds the projects an index's root page may list.
const MaxProjects = 2_000_000

// ErrNoSHA256 marks an upstream file that carries no sha256.
var ErrNoSHA256 = errors.New("no sha256 given for the file")

// ErrHostNotAllowed marks a file link to a host that is neither the
// index's nor allowed by the remote.
var ErrHostNotAllowed = errors.New("file host not allowed")

// Syncer reads Simple Repository API upstreams.
type Syncer struct{}

var (
	_ remote.Syncer            = Syncer{}
	_ remote.RemoteValidator   = Syncer{}
	_ remote.OptionDeclarer    = Syncer{}
	_ remote.ContentDescriber  = Syncer{}
	_ remote.IndexStreamer     = Syncer{}
	_ remote.ProjectNormalizer = Syncer{}
)

// DescribesFromContent makes a sync read what an index page leaves out
// (Requires-Python, the METADATA digest) from each file it stores, so a
// synced record says what a committed one does.
func (Syncer) DescribesFromContent() {}

// NormalizeProject returns name normalized as PEP 503 says, false when
// it is not a valid project name (remote.ProjectNormalizer).
func (Syncer) NormalizeProject(name string) (string, bool) {
	if !pyformat.ValidName(name) {
		return "", false
	}
	return pyformat.NormalizeName(name), true
}

// ForProject returns r narrowed to project: its projects setting names
// that project alone, with the specifier r gives it if r lists it
// (remote.ProjectNormalizer).
func (Syncer) ForProject(r remote.Remote, project string) (remote.Remote, error) {
	o, err := RemoteOptionsOf(&r)
	if err != nil {
		return remote.Remote{}, err
	}
	want := project
	for _, p := range o.Projects {
		name, _ := splitRequirement(strings.TrimSpace(p))
		if pyformat.ValidName(name) && pyformat.NormalizeName(name) == project {
			want = p
			break
		}
	}
	o.Projects = []string{want}
	return o.With(r), nil
}

// Kind returns "python".
func (Syncer) Kind() string { return Kind }

// ValidateRemote checks the project specifiers and platform patterns.
func (Syncer) ValidateRemote(r *remote.Remote) error {
	_, err := parseOptions(r)
	return err
}

// Requirement is a project name with its PEP 440 specifier set.
type Requirement struct {
	Name string // PEP 503 normalized
	// Spec is the specifier set as given, "" for any version.
	Spec string
	// specs is Spec parsed (prereleases admitted; see allowPre).
	specs *pep440.Specifiers
	// allowPre: a clause names a pre- or dev-release, which admits them.
	allowPre bool
	// pinned are the versions "==" names exactly (normalized).
	pinned []string
}

// splitRequirement splits a trimmed requirement into the project name
// and the specifier set after it.
func splitRequirement(s string) (name, spec string) {
	if i := strings.IndexAny(s, "<>=!~ "); i >= 0 {
		return s[:i], strings.TrimSpace(s[i:])
	}
	return s, ""
}

// ParseRequirement parses "name", or "name" followed by a specifier set
// such as ">=4.2,<5" (spaces allowed).
func ParseRequirement(s string) (Requirement, error) {
	s = strings.TrimSpace(s)
	name, spec := splitRequirement(s)
	if !pyformat.ValidName(name) {
		return Requirement{}, fmt.Errorf("project %q: %q is not a valid project name", s, name)
	}
	req := Requirement{Name: pyformat.NormalizeName(name), Spec: spec}
	if spec == "" {
		return req, nil
	}
	if strings.Contains(spec, "||") {
		return Requirement{}, fmt.Errorf("project %q: '||' is not PEP 440", s)
	}
	for _, clause := range strings.Split(spec, ",") {
		clause = strings.TrimSpace(clause)
		v := strings.TrimLeft(clause, "<>=!~ ")
		op := strings.TrimSpace(clause[:len(clause)-len(v)])
		if op == "" || v == "" {
			return Requirement{}, fmt.Errorf("project %q: specifier %q: want an operator and a version", s, clause)
		}
		pv, err := pyformat.ParseVersion(strings.TrimSuffix(v, ".*"))
		if err != nil && op != "===" {
			return Requirement{}, fmt.Errorf("project %q: specifier %q: %w", s, clause, err)
		}
		if err == nil && pv.IsPreRelease() && op != "!=" {
			req.allowPre = true
		}
		if op == "==" && !strings.HasSuffix(v, ".*") && err == nil {
			n, _ := pyformat.NormalizeVersion(v)
			req.pinned = append(req.pinned, n)
		}
	}
	ss, err := pep440.NewSpecifiers(spec, pep440.WithPreRelease(true))
	if err != nil {
		return Requirement{}, fmt.Errorf("project %q: specifier %q is not PEP 440", s, spec)
	}
	req.specs = &ss
	return req, nil
}

// options are a remote's filters, parsed.
type options struct {
	reqs       []Requirement // nil: every project
	platforms  []string
	latest     int
	prerelease bool
	hosts      []string // lower case; the index's host first
}

func parseOptions(r *remote.Remote) (*options, error) {
	ro, err := RemoteOptionsOf(r)
	if err != nil {
		return nil, err
	}
	o := &options{platforms: ro.Platforms, latest: ro.Latest, prerelease: ro.Prerelease}
	seen := make(map[string]bool)
	for _, p := range ro.Projects {
		req, err := ParseRequirement(p)
		if err != nil {
			return nil, err
		}
		if seen[req.Name] {
			return nil, fmt.Errorf("project %s is listed twice", req.Name)
		}
		seen[req.Name] = true
		o.reqs = append(o.reqs, req)
	}
	for _, p := range ro.Platforms {
		if strings.Contains(p, "/") {
			return nil, fmt.Errorf("platform %q: want a wheel platform tag or pattern such as manylinux*_x86_64", p)
		}
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("platform pattern %q: %w", p, err)
		}
	}
	if u, err := url.Parse(r.URL); err == nil {
		o.hosts = append(o.hosts, strings.ToLower(u.Host))
	}
	for _, h := range ro.AllowHosts {
		o.hosts = append(o.hosts, strings.ToLower(h))
	}
	return o, nil
}

// hostAllowed reports whether files may come from u's host: host[:port]
// or a bare host name listed matches.
func (o *options) hostAllowed(u *url.URL) bool {
	h, name := strings.ToLower(u.Host), strings.ToLower(u.Hostname())
	for _, a := range o.hosts {
		if a == h || a == name {
			return true
		}
	}
	return false
}

// start parses the remote's options and root URL and lists the projects
// to read.
func start(ctx context.Context, up remote.Upstream) (*fetcher, *options, *url.URL, []Requirement, error) {
	o, err := parseOptions(&up.Remote)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	root, err := url.Parse(up.Remote.URL)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if !strings.HasSuffix(root.Path, "/") {
		root.Path += "/"
		root.RawPath = ""
	}
	f := &fetcher{up: up}
	reqs := o.reqs
	if reqs == nil {
		if reqs, err = f.projects(ctx, root); err != nil {
			return nil, nil, nil, nil, err
		}
	}
	return f, o, root, reqs, nil
}

// IndexSeq lists what Index does, a project at a time, in path order:
// projects by name as a directory sorts ("a-b/" before "a/"), each
// project's files by name. Project pages are read a few at a time (the
// remote's download concurrency) ahead of the one being yielded, so only
// those pages' files are held.
func (s Syncer) IndexSeq(ctx context.Context, up remote.Upstream, yield func(remote.Package) error) error {
	f, o, root, reqs, err := start(ctx, up)
	if err != nil {
		return err
	}
	reqs = slices.Clone(reqs)
	slices.SortFunc(reqs, func(a, b Requirement) int { return compareDirs(a.Name, b.Name) })

	type result struct {
		req  Requirement
		pkgs []remote.Package
		err  error
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	// Each page's result comes through its own channel, queued in project
	// order; the queue's capacity bounds the pages read ahead, a few
	// times the pages read at once, so that a slow page does not stop
	// the others.
	conc := max(1, up.Remote.DownloadConcurrency)
	queue := make(chan chan result, 4*conc)
	sem := make(chan struct{}, conc)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(queue)
		for _, req := range reqs {
			ch := make(chan result, 1)
			select {
			case queue <- ch:
			case <-ctx.Done():
				return
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				ch <- result{req: req, err: ctx.Err()}
				return
			}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				r := result{req: req}
				r.err = parallel.Safe(func() (err error) {
					r.pkgs, err = f.project(ctx, root, req, o)
					return err
				})
				ch <- r
			}()
		}
	}()
	for ch := range queue {
		r := <-ch
		if r.err != nil {
			return fmt.Errorf("project %s: %w", r.req.Name, r.err)
		}
		slices.SortFunc(r.pkgs, func(a, b remote.Package) int { return strings.Compare(a.Path, b.Path) })
		for _, p := range r.pkgs {
			if err := yield(p); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// compareDirs orders names as the directories "a/" and "b/" sort.
func compareDirs(a, b string) int {
	n := min(len(a), len(b))
	if c := strings.Compare(a[:n], b[:n]); c != 0 {
		return c
	}
	switch {
	case len(a) == len(b):
		return 0
	case len(a) < len(b):
		return cmp.Compare('/', b[n])
	default:
		return cmp.Compare(a[n], '/')
	}
}

// Index lists the files of the remote's projects that pass its filters.
func (s Syncer) Index(ctx context.Context, up remote.Upstream) ([]remote.Package, error) {
	f, o, root, reqs, err := start(ctx, up)
	if err != nil {
		return nil, err
	}
	// Project pages are read a few at a time (the remote's download
	// concurrency); the result keeps the order of the project list.
	results := make([][]remote.Package, len(reqs))
	errs := make([]error, len(reqs))
	sem := make(chan struct{}, max(1, up.Remote.DownloadConcurrency))
	var wg sync.WaitGroup
	for i, req := range reqs {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = parallel.Safe(func() (err error) {
				results[i], err = f.project(ctx, root, req, o)
				return err
			})
		}()
	}
	wg.Wait()
	var out []remote.Package
	for i, req := range reqs {
		if errs[i] != nil {
			return nil, fmt.Errorf("project %s: %w", req.Name, errs[i])
		}
		out = append(out, results[i]...)
	}
	return out, ctx.Err()
}

// fetcher makes an Index's requests.
type fetcher struct{ up remote.Upstream }

// projects reads the root page.
func (f *fetcher) projects(ctx context.Context, root *url.URL) ([]Requirement, error) {
	resp, err := f.do(ctx, http.MethodGet, root.String())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close() // read to the end or failed: nothing more to learn
	names, err := simplepage.ParseProjectList(resp.Body, resp.Header.Get("Content-Type"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", root, err)
	}
	if len(names) > MaxProjects {
		return nil, fmt.Errorf("%s lists %d projects, over the limit of %d", root, len(names), MaxProjects)
	}
	seen := make(map[string]bool, len(names))
	var reqs []Requirement
	for _, n := range names {
		if !pyformat.ValidName(n) { // not a project link; pip would not find it either
			continue
		}
		n = pyformat.NormalizeName(n)
		if !seen[n] {
			seen[n] = true
			reqs = append(reqs, Requirement{Name: n})
		}
	}
	slices.SortFunc(reqs, func(a, b Requirement) int { return strings.Compare(a.Name, b.Name) })
	return reqs, nil
}

// candidate is one file that passed the per-file filters.
type candidate struct {
	f       simplepage.File
	version string // normalized
	pv      pep440.Version
	typ     string
}

// project reads one project's page and returns its packages.
func (f *fetcher) project(ctx context.Context, root *url.URL, req Requirement, o *options) ([]remote.Package, error) {
	pageURL := root.ResolveReference(&url.URL{Path: url.PathEscape(req.Name) + "/"})
	resp, err := f.do(ctx, http.MethodGet, pageURL.String())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close() // read to the end or failed: nothing more to learn
	files, err := simplepage.ParseProject(resp.Body, resp.Header.Get("Content-Type"), resp.Request.URL)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pageURL, err)
	}

	var cands []candidate
	for _, file := range files {
		c, ok := classify(file, req.Name)
		if !ok || !keep(c, req, o) {
			continue
		}
		cands = append(cands, c)
	}
	if o.latest > 0 {
		cands = latest(cands, o.latest)
	}

	out := make([]remote.Package, 0, len(cands))
	for _, c := range cands {
		p, err := f.pkg(ctx, req.Name, c, o)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// classify parses a file's name; ok is false for files that are not a
// wheel or sdist of project.
func classify(file simplepage.File, project string) (candidate, bool) {
	c := candidate{f: file}
	var name, version string
	if w, err := pyformat.ParseWheelName(file.Filename); err == nil {
		c.typ, name, version = pyformat.TypeWheel, pyformat.NormalizeName(w.Name), w.Version
	} else if stem, ok := pyformat.SdistStem(file.Filename); ok {
		n, v, ok := guessSdist(stem, project)
		if !ok {
			return c, false
		}
		c.typ, name, version = pyformat.TypeSdist, n, v
	} else {
		return c, false
	}
	if name != project {
		return c, false
	}
	pv, err := pyformat.ParseVersion(version)
	if err != nil {
		return c, false
	}
	c.pv = pv
	c.version, _ = pyformat.NormalizeVersion(version)
	return c, true
}

// guessSdist splits an sdist stem, preferring the split whose name is
// project (names may hold '-').
func guessSdist(stem, project string) (name, version string, ok bool) {
	for i := len(stem) - 1; i > 0; i-- {
		if stem[i] == '-' && pyformat.NormalizeName(stem[:i]) == project {
			if v, err := pyformat.NormalizeVersion(stem[i+1:]); err == nil {
				return project, v, true
			}
		}
	}
	return pyformat.GuessSdistName(stem)
}

// keep applies the specifier, prerelease, yanked and platform filters.
func keep(c candidate, req Requirement, o *options) bool {
	if req.specs != nil && !req.specs.Check(c.pv) {
		return false
	}
	if c.pv.IsPreRelease() && !o.prerelease && !req.allowPre {
		return false
	}
	if c.f.Yanked && !slices.Contains(req.pinned, c.version) {
		return false
	}
	if c.typ == pyformat.TypeWheel && len(o.platforms) > 0 {
		w, _ := pyformat.ParseWheelName(c.f.Filename)
		return platformMatch(w.Platform, o.platforms)
	}
	return true
}

// platformMatch reports whether a wheel's platform tag (possibly
// compressed, "a.b") is "any" or matches a pattern.
func platformMatch(tag string, patterns []string) bool {
	for _, t := range strings.Split(tag, ".") {
		if t == "any" {
			return true
		}
		for _, p := range patterns {
			if ok, _ := path.Match(p, t); ok {
				return true
			}
		}
	}
	return false
}

// latest keeps the files of the n newest versions.
func latest(cands []candidate, n int) []candidate {
	var vs []candidate
	for _, c := range cands {
		if !slices.ContainsFunc(vs, func(v candidate) bool { return v.version == c.version }) {
			vs = append(vs, c)
		}
	}
	if len(vs) <= n {
		return cands
	}
	slices.SortFunc(vs, func(a, b candidate) int { return b.pv.Compare(a.pv) })
	keepV := make(map[string]bool, n)
	for _, v := range vs[:n] {
		keepV[v.version] = true
	}
	return slices.DeleteFunc(cands, func(c candidate) bool { return !keepV[c.version] })
}

// pkg checks a candidate's URL and digest and builds its Package.
func (f *fetcher) pkg(ctx context.Context, project string, c candidate, o *options) (remote.Package, error) {
	file := c.f
	if !o.hostAllowed(file.URL) {
		return remote.Package{}, fmt.Errorf("%s: %w: %s is not the index's host (add --allow-host %s to trust it)", file.Filename, ErrHostNotAllowed, file.URL.Host, file.URL.Hostname())
	}
	hex, ok := file.Hashes["sha256"]
	if !ok {
		return remote.Package{}, fmt.Errorf("%s: %w (pkgvc verifies every file it stores; the index gives %s)", file.Filename, ErrNoSHA256, hashNames(file.Hashes))
	}
	id, err := objects.ParseID(strings.ToLower(hex))
	if err != nil {
		return remote.Package{}, fmt.Errorf("%s: sha256 %q: %w", file.Filename, hex, err)
	}
	size := file.Size
	if size < 0 && f.up.KnownSize != nil {
		if known, ok := f.up.KnownSize(ctx, id); ok {
			size = known // stored already: its size is known without a HEAD
		}
	}
	if size < 0 {
		if size, err = f.size(ctx, file.URL.String()); err != nil {
			return remote.Package{}, fmt.Errorf("%s: %w", file.Filename, err)
		}
	}
	m := map[string]string{
		kindpython.MetaName:        project,
		kindpython.MetaVersion:     c.version,
		kindpython.MetaFilename:    file.Filename,
		kindpython.MetaPackageType: c.typ,
		kindpython.MetaYanked:      fmt.Sprint(file.Yanked),
	}
	if file.RequiresPython == "" && c.typ == pyformat.TypeWheel && file.CoreMetadataSHA256 != "" && f.up.Remote.Policy == remote.OnDemand && !f.up.Waiting {
		// The file is not downloaded now: its metadata file (PEP 658)
		// says what the page left out (one request per such wheel, which
		// a pull-through does not wait for). A sync that downloads reads
		// the wheel itself (DescribesFromContent).
		rp, err := f.requiresPython(ctx, file, project, c.version)
		if err != nil {
			return remote.Package{}, err
		}
		file.RequiresPython = rp
	}
	if file.RequiresPython != "" {
		m[kindpython.MetaRequiresPython] = file.RequiresPython
	}
	if file.Yanked && file.YankedReason != "" {
		m[kindpython.MetaYankedReason] = file.YankedReason
	}
	if t, err := time.Parse(time.RFC3339Nano, file.UploadTime); err == nil {
		m[kindpython.MetaUploadTime] = t.UTC().Format(time.RFC3339Nano)
	}
	if d := strings.ToLower(file.CoreMetadataSHA256); len(d) == 64 && strings.Trim(d, "0123456789abcdef") == "" {
		m[kindpython.MetaMetadataSHA256] = d
	}
	return remote.Package{
		Path:     path.Join(PackagesDir, project, file.Filename),
		URL:      file.URL.String(),
		SHA256:   id,
		Size:     size,
		Metadata: m,
	}, nil
}

func hashNames(h map[string]string) string {
	if len(h) == 0 {
		return "no hash"
	}
	var names []string
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	return "only " + strings.Join(names, ", ")
}

// requiresPython reads Requires-Python from a wheel's metadata file,
// checked against the page's digest and the wheel's project and version.
// A metadata file that cannot be had or trusted gives "": the record then
// lacks what the page did not say, as before.
func (f *fetcher) requiresPython(ctx context.Context, file simplepage.File, project, version string) (string, error) {
	resp, err := f.do(ctx, http.MethodGet, file.URL.String()+kindpython.MetadataSuffix)
	if err != nil {
		return "", ctx.Err()
	}
	defer resp.Body.Close() // read to its end or given up on
	data, err := io.ReadAll(io.LimitReader(resp.Body, pyformat.DefaultMaxMetadata+1))
	if err != nil || len(data) > pyformat.DefaultMaxMetadata {
		return "", ctx.Err()
	}
	if sum := objects.Sum(data); !strings.EqualFold(sum.String(), file.CoreMetadataSHA256) {
		return "", nil
	}
	md, err := pyformat.ParseMetadata(data)
	if err != nil || pyformat.NormalizeName(md.Name) != project {
		return "", nil
	}
	if v, err := pyformat.NormalizeVersion(md.Version); err != nil || v != version {
		return "", nil
	}
	return md.RequiresPython, nil
}

// size asks for a file's size with HEAD, for pages that do not give it.
func (f *fetcher) size(ctx context.Context, rawURL string) (int64, error) {
	resp, err := f.do(ctx, http.MethodHead, rawURL)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close() // a HEAD response has no body
	if resp.ContentLength < 0 {
		return 0, fmt.Errorf("HEAD %s: no Content-Length, and the index gives no size", rawURL)
	}
	return resp.ContentLength, nil
}

// do makes a request with the index's Accept header, retrying as the
// remote says; it returns a 2xx response.
func (f *fetcher) do(ctx context.Context, method, rawURL string) (*http.Response, error) {
	return f.up.Client.Request(ctx, method, rawURL, http.Header{"Accept": {simplepage.Accept}})
}
