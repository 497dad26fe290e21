// Package unwrap finds a capability through layers of decorators, each of
// which gives the value it wraps through an Unwrap method (as errors.As
// does for errors): the backends of objects and refs use it.
package unwrap

// As returns the first of b and the values b wraps, outermost first, that
// is a T. A value wraps another when it has an Unwrap() B method.
func As[T any, B comparable](b B) (T, bool) {
	var none B
	for b != none {
		if t, ok := any(b).(T); ok {
			return t, true
		}
		u, ok := any(b).(interface{ Unwrap() B })
		if !ok {
			break
		}
		b = u.Unwrap()
	}
	var zero T
	return zero, false
}
