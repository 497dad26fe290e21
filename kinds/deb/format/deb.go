package format

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrDeb reports a file that is not a valid Debian binary package.
var ErrDeb = errors.New("invalid .deb")

// Limits bounds what ReadDeb reads; zero fields take the defaults.
type Limits struct {
	// ControlTar bounds the uncompressed control.tar (maintainer
	// scripts, md5sums: a few MiB for the largest packages).
	ControlTar int64
	// Control bounds the control file.
	Control int64
	// DataTar bounds the uncompressed data.tar.
	DataTar int64
}

// Default limits.
const (
	DefaultControlTar = 256 << 20
	DefaultControl    = 4 << 20
	DefaultDataTar    = 64 << 30
)

func (l Limits) withDefaults() Limits {
	if l.ControlTar <= 0 {
		l.ControlTar = DefaultControlTar
	}
	if l.Control <= 0 {
		l.Control = DefaultControl
	}
	if l.DataTar <= 0 {
		l.DataTar = DefaultDataTar
	}
	return l
}

// Deb is what ReadDeb read of a .deb.
type Deb struct {
	// Control is the control file's paragraph; ControlText its text
	// as the file holds it.
	Control     Paragraph
	ControlText []byte
	// ControlMember and DataMember name the tar members
	// ("control.tar.xz", "data.tar.zst").
	ControlMember, DataMember string
}

// ReadDeb reads and checks the .deb r of size bytes: an ar archive of
// debian-binary ("2.x"), control.tar[.gz|.xz|.zst] holding ./control, and
// data.tar[.gz|.xz|.zst|.bz2], both tar streams read to their end with
// every entry name checked (no absolute path, no ".."). Members whose
// names start with "_" may follow debian-binary, as dpkg allows.
func ReadDeb(ctx context.Context, r io.ReaderAt, size int64, lim Limits) (*Deb, error) {
	lim = lim.withDefaults()
	ms, err := ReadAr(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDeb, err)
	}
	var main []ArMember
	for i, m := range ms {
		if i > 0 && strings.HasPrefix(m.Name, "_") {
			continue
		}
		main = append(main, m)
	}
	if len(main) != 3 {
		return nil, fmt.Errorf("%w: %d ar members (%s), expected debian-binary, control.tar and data.tar", ErrDeb, len(main), names(main))
	}
	if err := checkDebianBinary(r, main[0]); err != nil {
		return nil, err
	}
	d := &Deb{ControlMember: main[1].Name, DataMember: main[2].Name}
	ctlBase, ctlComp := splitCompression(main[1].Name)
	if ctlBase != "control.tar" || ctlComp == CompBzip2 {
		return nil, fmt.Errorf("%w: second member is %s, expected control.tar, control.tar.gz, .xz or .zst", ErrDeb, main[1].Name)
	}
	dataBase, dataComp := splitCompression(main[2].Name)
	if dataBase != "data.tar" {
		return nil, fmt.Errorf("%w: third member is %s, expected data.tar, data.tar.gz, .xz, .zst or .bz2", ErrDeb, main[2].Name)
	}
	if d.ControlText, err = readControl(ctx, section(r, main[1]), ctlComp, lim); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrDeb, main[1].Name, err)
	}
	if d.Control, err = ParseControl(d.ControlText); err != nil {
		return nil, fmt.Errorf("%w: control file: %w", ErrDeb, err)
	}
	if err := checkData(ctx, section(r, main[2]), dataComp, lim); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrDeb, main[2].Name, err)
	}
	return d, nil
}

func section(r io.ReaderAt, m ArMember) io.Reader { return io.NewSectionReader(r, m.Offset, m.Size) }

func names(ms []ArMember) string {
	ns := make([]string, len(ms))
	for i, m := range ms {
		ns[i] = m.Name
	}
	return strings.Join(ns, ", ")
}

// checkDebianBinary checks the format version member: "2.<minor>\n".
func checkDebianBinary(r io.ReaderAt, m ArMember) error {
	if m.Name != "debian-binary" {
		return fmt.Errorf("%w: first member is %s, expected debian-binary", ErrDeb, m.Name)
	}
	if m.Size < 4 || m.Size > 16 {
		return fmt.Errorf("%w: debian-binary holds %d bytes, expected \"2.0\\n\"", ErrDeb, m.Size)
	}
	b := make([]byte, m.Size)
	if _, err := r.ReadAt(b, m.Offset); err != nil {
		return fmt.Errorf("%w: read debian-binary: %w", ErrDeb, err)
	}
	ver, _, _ := strings.Cut(string(b), "\n")
	major, minor, ok := strings.Cut(ver, ".")
	if !ok || major != "2" || !allDigits(minor) {
		return fmt.Errorf("%w: format version %q, expected 2.0", ErrDeb, ver)
	}
	return nil
}

// readControl returns the ./control file of a control.tar stream.
func readControl(ctx context.Context, r io.Reader, comp string, lim Limits) ([]byte, error) {
	zr, release, err := Decompress(r, comp, lim.ControlTar)
	if err != nil {
		return nil, err
	}
	defer release()
	var control []byte
	err = walkTar(ctx, zr, lim.ControlTar, func(h *tar.Header, tr *tar.Reader) error {
		if cleanTarName(h.Name) != "control" {
			return nil
		}
		if control != nil {
			return fmt.Errorf("%w: two control files", ErrTar)
		}
		if h.Typeflag != tar.TypeReg {
			return fmt.Errorf("%w: control is not a regular file", ErrTar)
		}
		if h.Size > lim.Control {
			return fmt.Errorf("%w: control file of %d bytes, over the limit of %d", ErrTooLarge, h.Size, lim.Control)
		}
		control = make([]byte, h.Size)
		if _, err := io.ReadFull(tr, control); err != nil {
			return fmt.Errorf("%w: read control: %w", ErrTar, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if control == nil {
		return nil, fmt.Errorf("%w: no ./control file", ErrTar)
	}
	return control, nil
}

// checkData reads a data.tar stream through, checking its entry names.
func checkData(ctx context.Context, r io.Reader, comp string, lim Limits) error {
	zr, release, err := Decompress(r, comp, lim.DataTar)
	if err != nil {
		return err
	}
	defer release()
	return walkTar(ctx, zr, lim.DataTar, func(*tar.Header, *tar.Reader) error { return nil })
}
