package server

import (
	"encoding/json"
	"net/url"
	"sort"
	"strconv"

	"github.com/pkgvc/pkgvc/api/wire"
	"github.com/pkgvc/pkgvc/repo"
)

// PageParams selects a page.
type PageParams struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"10000" default:"1000" doc:"Items per page."`
	Cursor string `query:"cursor" doc:"The next cursor of the previous page."`
}

// paginate cuts the page p selects out of items. key names an item
// uniquely; sorted says items are sorted by key, so that a page still
// follows when the item its cursor names is gone. Without key, cursors
// are offsets.
func paginate[T any](items []T, p PageParams, key func(T) string, sorted bool) (wire.Page[T], error) {
	limit := p.Limit
	if limit <= 0 {
		limit = wire.DefaultLimit
	}
	start := 0
	if p.Cursor != "" {
		k, err := uncursor(p.Cursor)
		if err != nil {
			return wire.Page[T]{}, err
		}
		if key == nil {
			n, err := strconv.Atoi(k)
			if err != nil || n < 0 {
				return wire.Page[T]{}, errorf(repo.ErrInvalid, "invalid cursor %q", p.Cursor)
			}
			start = min(n, len(items))
		} else {
			start = len(items)
			if sorted {
				// The page starts after the cursor's key, whether or not
				// that item is still there.
				start = sort.Search(len(items), func(i int) bool { return key(items[i]) > k })
			} else {
				for i, it := range items {
					if key(it) == k {
						start = i + 1
						break
					}
				}
			}
		}
	}
	end := min(start+limit, len(items))
	page := wire.Page[T]{Items: items[start:end]}
	if page.Items == nil {
		page.Items = []T{}
	}
	if end < len(items) {
		if key == nil {
			page.Next = wire.EncodeCursor(strconv.Itoa(end))
		} else {
			page.Next = wire.EncodeCursor(key(items[end-1]))
		}
	}
	return page, nil
}

// nextLink is the Link header of a page.
func nextLink(path string, p PageParams, next string, extra url.Values) string {
	if next == "" {
		return ""
	}
	q := url.Values{}
	for k, v := range extra {
		q[k] = v
	}
	q.Set("cursor", next)
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	return "<" + path + "?" + q.Encode() + `>; rel="next"`
}

// rawObject is a JSON object kept as its fields.
type rawObject = map[string]json.RawMessage

// uncursor decodes a cursor of a request, its error the API's invalid.
func uncursor(c string) (string, error) {
	k, err := wire.DecodeCursor(c)
	if err != nil {
		return "", toError(err)
	}
	return k, nil
}
