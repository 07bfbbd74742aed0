// Package conformance holds the storage conformance suite: one test
// function, run against every backend (mem, file, and the S3, Azure Blob
// and GCS emulators that internal/testenv starts as processes), that
// ingests sample exports from a glob on the backend into a dataset on the
// same backend and checks what the design promises there: exact rows and
// money per partition read back through the dataset API, a cancelled job
// leaving nothing, concurrent jobs both committing, and an outage in the
// middle of a job leaving nothing visible and recovering once the store
// is back. It has no non-test code.
package conformance
