// Package testenv starts the storage emulators the tests run against, each
// as a separate process on a free loopback port: moto's S3 server (from
// PyPI, in the project's .venv), Azurite (from npm, in
// test/emulators/node_modules) and fake-gcs-server (from the Go module
// proxy, in bin/tools). `make emulators` installs all three; `make test`
// runs it first.
//
// An emulator is started by the test that needs it, waited for until it
// answers, and killed when the test ends. Kill and Restart let a test take
// storage away in the middle of a job and bring it back on the same port
// with the same data.
//
// A missing emulator fails the test, with the command that installs it.
// Only FOCUS_INGEST_SKIP_EMULATORS turns that into a skip: "1" or "all"
// skips every emulator, or a comma-separated list of names (s3, azure,
// gcs) skips those. CI sets nothing, so it runs every backend.
//
// The emulators need process-wide settings, which Setup makes once per
// test binary: dummy AWS credentials and region, an Azure account and a
// random key shared with every Azurite this process starts, and
// STORAGE_EMULATOR_HOST for the GCS emulator (so one GCS emulator at a time
// per test binary).
//
// StartServe does the same for the `focus-ingest serve` binary itself: it
// runs the process, keeps its stderr in a LogBuffer and returns the
// address it logged it listens on. LogBuffer is also the log sink of
// tests that run a server in process.
package testenv
