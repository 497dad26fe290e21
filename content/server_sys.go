package content

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// fileIdent tells whether a file changed since it was verified: a rewrite
// changes the inode or the times, and any write changes the ctime, which
// cannot be set back.
type fileIdent struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64
}

func identOfInfo(fi fs.FileInfo) (fileIdent, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileIdent{}, false
	}
	return fileIdent{
		dev: st.Dev, ino: st.Ino, size: st.Size,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(),
	}, true
}

// blobDir is an open directory of blob files: a stat relative to it
// skips the lookup of the whole path, which is most of a stat's cost.
// It is never closed explicitly (entries referring to it keep it alive;
// the os.File finalizer closes it after), so its descriptor cannot be
// reused while a request uses it.
type blobDir struct {
	f  *os.File
	fd int
}

// statAt returns the identity of the file name in d.
func (d *blobDir) statAt(name string) (fileIdent, bool) {
	var st unix.Stat_t
	err := unix.Fstatat(d.fd, name, &st, 0)
	runtime.KeepAlive(d.f)
	if err != nil {
		return fileIdent{}, false
	}
	return fileIdent{
		dev: st.Dev, ino: st.Ino, size: st.Size,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(),
	}, true
}

// blobDirOf returns the open directory holding the file p and p's name in
// it, or nil if the directory cannot be opened.
func (s *Server) blobDirOf(p string) (*blobDir, string) {
	dir, name := filepath.Split(p)
	if x, ok := s.dirs.Load(dir); ok {
		d := x.(*blobDir)
		if _, ok := d.statAt(name); ok {
			return d, name
		}
		s.dirs.CompareAndDelete(dir, d) // removed and made again, maybe
	}
	f, err := os.Open(dir)
	if err != nil {
		return nil, name
	}
	d := &blobDir{f: f, fd: int(f.Fd())}
	s.dirs.Store(dir, d)
	return d, name
}
