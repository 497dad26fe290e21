package repo

// EncodeConfig and EncodeDoc encode a repository's configuration and
// another document as store format 1 did, for tests that write its layout.
var EncodeConfig = encodeConfig

func EncodeDoc(v any) ([]byte, error) { return encodeTagged(tagDoc, v) }
