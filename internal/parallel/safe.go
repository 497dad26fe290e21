package parallel

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
)

// PanicError is a panic recovered by Safe: its value and the stack of the
// goroutine that panicked. Its message is the value only, as clients may
// see it; the stack is for the server's log (see LogStack).
type PanicError struct {
	Value any
	Stack string
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Safe calls fn and returns its error, or a panic in fn as a *PanicError.
// A goroutine of its own recovers nothing a request or a task recovers:
// every worker a request or a sync starts calls its work through Safe, so
// a bug fails that operation instead of ending the process.
func Safe(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: string(debug.Stack())}
		}
	}()
	return fn()
}

// LogStack is the stack of a panic err holds, as a log attribute ("stack"),
// or an empty attribute, which handlers leave out, if it holds none.
func LogStack(err error) slog.Attr {
	var pe *PanicError
	if errors.As(err, &pe) {
		return slog.String("stack", pe.Stack)
	}
	return slog.Attr{}
}
