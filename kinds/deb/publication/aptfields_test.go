package publication_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pkgvc/pkgvc/repo"
)

// TestAptReadsStanzaFields: apt reads stanzas whose control paragraph
// has an empty field and a multi-line Description, as written.
func TestAptReadsStanzaFields(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := newEnv(t)
	keyring := e.gpgKeyring(t, t.TempDir())
	r := e.gen(t, "main", "fields", "1:2.0-1", "amd64")
	e.commit(t, []repo.Record{r, e.gen(t, "main", "other", "1.0", "all")})
	srv := e.serve(t, ctx, "stable", "debian", false)
	a := newApt(t, ctx, "deb [signed-by="+keyring+"] "+srv.base+" stable main")
	a.update(t, srv.log)
	out, err := a.run("", "apt-cache", "show", "fields")
	require.NoError(t, err, out)
	require.Contains(t, out, "Version: 1:2.0-1")
	require.Contains(t, out, "Description: step package\n line two\n .\n line four")
	require.True(t, strings.Contains(out, "Filename: pool/main/f/fields/fields_2.0-1_amd64.deb"), out)
	require.Equal(t, "1.0", a.candidate(t, "other"))
}
