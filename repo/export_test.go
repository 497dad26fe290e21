package repo

// EncodeConfig is encodeConfig, for tests that write format 1's layout.
var EncodeConfig = encodeConfig
