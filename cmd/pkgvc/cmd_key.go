package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/pkgvc/pkgvc/api"
	keystore "github.com/pkgvc/pkgvc/keys"
)

func keyCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:     "key",
		Usage:    "generate, import, export, list and delete signing keys (OpenPGP, Go checksum database)",
		Commands: []*cli.Command{keyGenerateCmd(e), keyImportCmd(e), keyExportCmd(e), keyListCmd(e), keyDeleteCmd(e)},
	}
}

// maxKeyFile bounds what key import reads: a key is a few kilobytes.
const maxKeyFile = 1 << 20

func keyGenerateCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "generate",
		Usage: "generate a key in the store; its private part never leaves it",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "type", Value: keystore.TypeOpenPGP, Usage: "`TYPE` of key: openpgp (apt, rpm) or sumdb (Go checksum database)"},
			&cli.StringFlag{Name: "algo", Usage: "`ALGO`: rsa4096 (OpenPGP's default) or ed25519 (sumdb's only one)"},
		},
		Action: e.checkedAction(1, 1, "NAME [--type openpgp|sumdb] [--algo rsa4096|ed25519]", func(c *cli.Command, a []string) error {
			switch t := c.String("type"); t {
			case keystore.TypeOpenPGP, keystore.TypeSumDB:
			default:
				return usagef("--type %q: use %s or %s", t, keystore.TypeOpenPGP, keystore.TypeSumDB)
			}
			switch al := c.String("algo"); al {
			case "", keystore.AlgoRSA4096, keystore.AlgoEd25519:
			default:
				return usagef("--algo %q: use %s or %s", al, keystore.AlgoRSA4096, keystore.AlgoEd25519)
			}
			return nil
		}, func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
			k, err := svc.GenerateKey(ctx, a[0], c.String("type"), c.String("algo"))
			if err != nil {
				return err
			}
			return e.printKey("generated", k, c)
		}),
	}
}

// printKey reports a key made or imported.
func (e *env) printKey(verb string, k *api.Key, c *cli.Command) error {
	if jsonOut(c) {
		return e.printJSON(k)
	}
	sign := "can sign"
	if !k.CanSign {
		sign = "verify only"
	}
	fmt.Fprintf(e.stdout, "%s %s key %s (%s, %s): %s\n", verb, k.Type, k.Name, k.Algo, sign, k.Fingerprint)
	return nil
}

func keyImportCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "import",
		Usage: "import a key from FILE (- for stdin): an OpenPGP public key (verify only) or secret key without a passphrase, armored or binary, or a sumdb verifier or signer key line",
		Action: e.action(2, 2, "NAME FILE", func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
			data, err := readKeyFile(a[1])
			if err != nil {
				return err
			}
			k, err := svc.ImportKey(ctx, a[0], data)
			if err != nil {
				return err
			}
			return e.printKey("imported", k, c)
		}),
	}
}

func readKeyFile(name string) ([]byte, error) {
	var r io.Reader = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKeyFile {
		return nil, failf(keystore.ErrInvalid, "key file %s is over %d bytes: not a key", name, maxKeyFile)
	}
	return data, nil
}

func keyExportCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "print a key's public part: an armored OpenPGP public key block, or a sumdb verifier key line",
		Action: e.action(1, 1, "NAME", func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
			pub, err := svc.ExportKey(ctx, a[0])
			if err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(map[string]string{"name": a[0], "public": string(pub)})
			}
			_, err = e.stdout.Write(pub)
			return err
		}),
	}
}

func keyListCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list keys (never their private parts)",
		Action: e.action(0, 0, "", func(ctx context.Context, c *cli.Command, svc api.Service, _ []string) error {
			ks, err := svc.ListKeys(ctx)
			if err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(ks)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tTYPE\tALGO\tKEY ID\tFINGERPRINT\tCREATED\tCAN SIGN")
			for _, k := range ks {
				sign := "no"
				if k.CanSign {
					sign = "yes"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.Name, k.Type, k.Algo, k.KeyID, k.Fingerprint, k.Created.Format(time.RFC3339), sign)
			}
			return tw.Flush()
		}),
	}
}

func keyDeleteCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "delete",
		Usage: "delete a key, its private part with it",
		Action: e.action(1, 1, "NAME", func(ctx context.Context, c *cli.Command, svc api.Service, a []string) error {
			if err := svc.DeleteKey(ctx, a[0]); err != nil {
				return err
			}
			if jsonOut(c) {
				return e.printJSON(map[string]any{"name": a[0], "deleted": true})
			}
			fmt.Fprintf(e.stdout, "deleted key %s\n", a[0])
			return nil
		}),
	}
}
