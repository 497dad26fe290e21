// Package simplepage reads the pages of a Python package index's Simple
// Repository API, as an upstream serves them: the project list and one
// project's file list, in PEP 503 HTML or PEP 691 JSON.
//
// # Trust
//
// Pages come from an upstream and are parsed defensively: a page over
// MaxPageSize is refused, every file URL is resolved against the page's
// URL and must be http or https (javascript:, data:, file: and the like
// are refused, not skipped), and a file name that could escape a
// directory ("..", "/", "\") is refused. Whether a file's host may be
// used is the caller's decision (see File.URL).
//
// HTML is read with golang.org/x/net/html's tokenizer, the HTML5
// tokenization algorithm browsers and pip's html5lib-era parser follow:
// attributes are unescaped, unclosed and misnested tags are tolerated,
// and comments, scripts and CDATA cannot smuggle in a link, which
// regular expressions over the text would get wrong.
package simplepage
