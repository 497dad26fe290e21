package refs_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/objects"
	"github.com/pkgvc/pkgvc/refs"
)

func TestValidName(t *testing.T) {
	hex := objects.Sum(nil).String()
	tests := []struct {
		name string
		ok   bool
	}{
		{"a", true},
		{"main", true},
		{"heads/main", true},
		{"repos/debian/versions/" + hex, true},
		{"v1.2.3", true},
		{"a_b-c.d", true},
		{"0", true},
		{"a/b/c/d", true},
		{"a..b", true},
		{strings.Repeat("a", 255), true},
		{strings.Repeat("a/", 127) + "a", true},

		{"", false},
		{strings.Repeat("a", 256), false},
		{"/", false},
		{"/a", false},
		{"a/", false},
		{"a//b", false},
		{"Main", false},
		{"a/B", false},
		{".a", false},
		{"a/.b", false},
		{"a/..", false},
		{"a/../b", false},
		{"-a", false},
		{"_a", false},
		{"a b", false},
		{"a\nb", false},
		{"a\x00", false},
		{"é", false},
		{"a:b", false},
		{"a~1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := refs.ValidName(tt.name)
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, refs.ErrInvalidName)
			}
		})
	}
}

func TestTxnValidate(t *testing.T) {
	id := objects.Sum([]byte("x"))
	tests := []struct {
		name    string
		txn     refs.Txn
		wantErr error
	}{
		{"ok", refs.Txn{Updates: []refs.Update{{Name: "a", New: id}, {Name: "b"}}, Who: "w\tx", Action: "a"}, nil},
		{"check only", refs.Txn{Updates: []refs.Update{{Name: "a", Old: id, New: id}}}, nil},
		{"empty", refs.Txn{}, refs.ErrInvalidTxn},
		{"bad name", refs.Txn{Updates: []refs.Update{{Name: "A", New: id}}}, refs.ErrInvalidName},
		{"duplicate", refs.Txn{Updates: []refs.Update{{Name: "a", New: id}, {Name: "a"}}}, refs.ErrInvalidTxn},
		{"who newline", refs.Txn{Updates: []refs.Update{{Name: "a"}}, Who: "a\n"}, refs.ErrInvalidTxn},
		{"action cr", refs.Txn{Updates: []refs.Update{{Name: "a"}}, Action: "\r"}, refs.ErrInvalidTxn},
		{"action utf8", refs.Txn{Updates: []refs.Update{{Name: "a"}}, Action: "\xc3"}, refs.ErrInvalidTxn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.txn.Validate()
			if tt.wantErr == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tt.wantErr)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	err := refs.Conflict("heads/main")
	require.ErrorIs(t, err, refs.ErrConflict)
	require.Equal(t, "heads/main: ref moved, retry", err.Error())
	err = refs.NotFound("heads/main")
	require.ErrorIs(t, err, refs.ErrNotFound)
	require.Equal(t, "heads/main: ref not found", err.Error())
}
