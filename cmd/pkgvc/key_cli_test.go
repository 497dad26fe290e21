package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
)

// TestKeyCLI: signing keys on a local store and through a server, where
// every key command needs *:*:admin and no private part comes back.
func TestKeyCLI(t *testing.T) {
	for _, name := range []string{"local", "server"} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			var url string
			if name == "server" {
				var secret string
				url, secret = newAPIServer(t)
				h = h.through(url, h.file("admin.token", []byte(secret)))
			}

			out := h.ok("--json", "key", "generate", "rel", "--algo", "ed25519")
			var rel map[string]any
			require.NoError(t, json.Unmarshal([]byte(out), &rel))
			require.ElementsMatch(t, []string{"name", "type", "algo", "fingerprint", "key_id", "identity", "created", "can_sign"}, jsonKeys(rel))
			require.Equal(t, "openpgp", rel["type"])
			require.Equal(t, "ed25519", rel["algo"])
			require.Equal(t, true, rel["can_sign"])
			fpr := rel["fingerprint"].(string)
			require.Len(t, fpr, 40)

			text := h.ok("key", "generate", "gosum", "--type", "sumdb")
			require.Contains(t, text, "generated sumdb key gosum")

			pub := h.ok("key", "export", "rel")
			require.True(t, strings.HasPrefix(pub, "-----BEGIN PGP PUBLIC KEY BLOCK-----\n"), pub)
			require.True(t, strings.HasSuffix(pub, "-----END PGP PUBLIC KEY BLOCK-----\n"), pub)
			vkey := h.ok("key", "export", "gosum")
			require.Regexp(t, `^gosum\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+\n$`, vkey)
			_, err := note.NewVerifier(strings.TrimSpace(vkey))
			require.NoError(t, err)

			// Imports, from files.
			imp := h.ok("--json", "key", "import", "rel-pub", h.file("rel.asc", []byte(pub)))
			var ip map[string]any
			require.NoError(t, json.Unmarshal([]byte(imp), &ip))
			require.Equal(t, fpr, ip["fingerprint"])
			require.Equal(t, false, ip["can_sign"])
			skey, _, err := note.GenerateKey(nil, "sum.example.com")
			require.NoError(t, err)
			require.Contains(t, h.ok("key", "import", "other", h.file("other.key", []byte(skey+"\n"))), "imported sumdb key other (ed25519, can sign)")

			var list []map[string]any
			h.jsonOK(&list, "key", "list")
			require.Len(t, list, 4)
			var names []string
			for _, k := range list {
				names = append(names, k["name"].(string))
			}
			require.Equal(t, []string{"gosum", "other", "rel", "rel-pub"}, names)
			require.Equal(t, false, list[3]["can_sign"])
			text = h.ok("key", "list")
			require.Contains(t, text, "FINGERPRINT")
			require.Contains(t, text, fpr)
			all := text + h.ok("--json", "key", "list") + h.ok("key", "export", "other")
			require.NotContains(t, all, "PRIVATE")
			require.NotContains(t, all, skey[len("PRIVATE+KEY+"):])
			// --json after the subcommand too.
			require.Equal(t, h.ok("--json", "key", "list"), h.ok("key", "list", "--json"))

			for _, tc := range []struct {
				args []string
				code int
				msg  string
			}{
				{[]string{"key", "generate", "rel", "--algo", "ed25519"}, 1, "exists"},
				{[]string{"key", "generate", "Bad Name"}, 1, "invalid"},
				{[]string{"key", "generate", "x", "--type", "x509"}, 2, "--type"},
				{[]string{"key", "generate", "x", "--algo", "dsa"}, 2, "--algo"},
				{[]string{"key", "generate", "x", "--type", "sumdb", "--algo", "rsa4096"}, 1, "sumdb"},
				{[]string{"key", "generate"}, 2, "usage"},
				{[]string{"key", "import", "x", h.file("junk", []byte("not a key"))}, 1, "invalid"},
				{[]string{"key", "import", "x", filepath.Join(h.work, "missing")}, 1, "missing"},
				{[]string{"key", "import", "x"}, 2, "usage"},
				{[]string{"key", "export", "nope"}, 1, "not found"},
				{[]string{"key", "delete", "nope"}, 1, "not found"},
			} {
				r := h.run(tc.args...)
				require.Equal(t, tc.code, r.code, "%v: %s", tc.args, r)
				require.Contains(t, r.stderr, tc.msg, tc.args)
			}

			require.Equal(t, "deleted key rel-pub\n", h.ok("key", "delete", "rel-pub"))
			list = nil
			h.jsonOK(&list, "key", "list")
			require.Len(t, list, 3)

			if name == "local" {
				// The private parts are files only their owner reads.
				n := 0
				require.NoError(t, filepath.WalkDir(filepath.Join(h.store, "meta"), func(p string, d os.DirEntry, err error) error {
					require.NoError(t, err)
					if !d.Type().IsRegular() {
						return nil
					}
					data, err := os.ReadFile(p)
					require.NoError(t, err)
					if strings.Contains(string(data), "PRIVATE") {
						n++
						fi, err := d.Info()
						require.NoError(t, err)
						require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), p)
					}
					return nil
				}))
				require.Equal(t, 3, n, "rel, gosum and other have private parts")
				return
			}
			// Through the server, a token without *:*:admin is refused.
			var tok map[string]any
			h.jsonOK(&tok, "token", "create", "--name", "writer", "--scope", "*:*:write")
			w := h.through(url, h.file("writer.token", []byte(tok["token"].(string))))
			for _, args := range [][]string{
				{"key", "list"},
				{"key", "export", "rel"},
				{"key", "generate", "mine", "--algo", "ed25519"},
				{"key", "import", "mine", h.file("rel2.asc", []byte(pub))},
				{"key", "delete", "rel"},
			} {
				r := w.run(args...)
				require.Equal(t, 1, r.code, "%v: %s", args, r)
				require.Contains(t, r.stderr, "*:*:admin", args)
			}
			h.ok("key", "export", "rel")
		})
	}
}
