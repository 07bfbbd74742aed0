// Package dataset stores converted FOCUS cost data as two Hive-partitioned
// Parquet datasets, costs_raw and tags_index, on a *blob.Bucket (local disk,
// memory or object storage; nothing here assumes a local filesystem).
//
// A Dataset is opened on a bucket (Open), which records the money scale in
// _focus/dataset.json. Writes happen in jobs: Begin starts one, Job.Write
// splits record batches by the UTC day of ChargePeriodStart into staged
// Parquet files under _focus/staging/<job>/, and Job.Commit makes all of a
// job's rows visible at once by creating the next entry of the commit log
// (_focus/log/<seq>.json) with a conditional create, then publishing the
// staged files to their final Hive paths. Ingesting a source again replaces
// its earlier rows; Overwrite replaces everything in the partitions a job
// touches. Every commit rewrites the tags_index file of each day it touches,
// so tags_index always holds the distinct (resource_id, tag_key, tag_value,
// date) of that day's live costs_raw rows.
//
// Recover, run at start, finishes interrupted publishes and removes the
// staging files of dead jobs and stray files the log does not hold.
// Snapshot lists the live files (the fold of the log) and OpenFile reads one
// through the bucket. docs/INTERNALS.md documents the layout, the log format
// and the commit protocol.
//
// The package returns errors and never logs.
package dataset
