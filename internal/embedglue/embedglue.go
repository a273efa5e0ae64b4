// Package embedglue lets the root package hand its adapters to the public packages beside it
// (storagetest) without those importing anything the root package keeps unexported, and
// without any internal package importing the root package (the layering rule). The root
// package sets the variables in its init.
package embedglue

import "github.com/goforward/goforward/internal/storage/blob"

// StorageBackend adapts a goforward.StorageBackend to the storage service's contract.
var StorageBackend func(b any) blob.Backend
