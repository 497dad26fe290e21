package debtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// AptConfig writes under dir a private apt configuration, one that reads
// and writes nothing of the machine's apt config or state, and returns
// its file (for APT_CONFIG). sources is the sources.list text; extra are
// further apt.conf lines.
func AptConfig(dir, sources string, extra ...string) (string, error) {
	for _, sub := range []string{"empty", "state/lists/partial", "cache/archives/partial"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "status"), nil, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "sources.list"), []byte(sources+"\n"), 0o644); err != nil {
		return "", err
	}
	conf := fmt.Sprintf(`Dir::Etc::Main "/dev/null"; Dir::Etc::Parts "%[1]s/empty";
Dir::Etc::SourceList "%[1]s/sources.list"; Dir::Etc::SourceParts "%[1]s/empty";
Dir::Etc::Preferences "/dev/null"; Dir::Etc::PreferencesParts "%[1]s/empty";
Dir::Etc::Trusted "/dev/null"; Dir::Etc::TrustedParts "%[1]s/empty";
Dir::State "%[1]s/state"; Dir::State::Lists "%[1]s/state/lists"; Dir::State::status "%[1]s/status";
Dir::Cache "%[1]s/cache"; Dir::Cache::Archives "%[1]s/cache/archives"; Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
APT::Architecture "amd64"; APT::Architectures { "amd64"; }; APT::Sandbox::User "root";
Acquire::Languages "none"; Acquire::http::Proxy::127.0.0.1 "DIRECT";
`, dir) + strings.Join(extra, "\n")
	f := filepath.Join(dir, "apt.conf")
	return f, os.WriteFile(f, []byte(conf), 0o644)
}
