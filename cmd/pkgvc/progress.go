package main

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progressBar draws the progress of a sync, local or through a server,
// or of a task being waited for: one bar, the same for all. Bytes show in
// byte units with a rate and the time left; other units are counted by
// name; an unknown total shows a spinner. Until anything is known (a
// queued task) nothing is drawn, and a bar starts again when its unit
// becomes known or changes.
type progressBar struct {
	w        io.Writer
	desc     string
	throttle time.Duration

	bar  *progressbar.ProgressBar
	unit string
	max  int64
}

func newProgressBar(w io.Writer, desc string) *progressBar {
	return &progressBar{w: w, desc: desc, throttle: 65 * time.Millisecond}
}

// set shows that done of total units are done (total 0: unknown).
func (p *progressBar) set(done, total int64, unit string) {
	if unit == "" && done == 0 && total == 0 {
		return // nothing known yet
	}
	if p.bar == nil || unit != p.unit || (total > 0) != (p.max > 0) {
		p.restart(total, unit)
	}
	if total > 0 && total != p.max {
		p.bar.ChangeMax64(total)
		p.max = total
	}
	_ = p.bar.Set64(done) // a bar that cannot draw is no reason to fail
}

func (p *progressBar) restart(total int64, unit string) {
	if p.bar != nil {
		_ = p.bar.Clear() // the new bar takes its line
	}
	p.unit, p.max = unit, total
	max := total
	if max <= 0 {
		max = -1 // a spinner
	}
	opts := []progressbar.Option{
		progressbar.OptionSetDescription(p.desc),
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetWidth(10),
		progressbar.OptionThrottle(p.throttle),
		progressbar.OptionShowCount(),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionFullWidth(),
		progressbar.OptionSetRenderBlankState(true),
	}
	if unit == "bytes" {
		opts = append(opts, progressbar.OptionShowBytes(true))
	} else {
		opts = append(opts, progressbar.OptionShowIts(), progressbar.OptionSetItsString(unit))
	}
	p.bar = progressbar.NewOptions64(max, opts...)
}

// finish completes the bar, if one was drawn.
func (p *progressBar) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
