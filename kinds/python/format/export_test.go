package format

// ZipEntries exposes zipEntries to the external tests.
var ZipEntries = zipEntries
