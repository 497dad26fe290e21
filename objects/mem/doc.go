// Package mem is an in-memory objects.Backend for tests. It implements
// objects.Toucher but deliberately not objects.Stager or objects.Syncer,
// so that stores on it exercise the fallback paths (local temporary
// files and one Put per item).
package mem
