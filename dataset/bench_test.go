//go:build unix

package dataset

import (
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"gocloud.dev/blob"

	"github.com/focus-ingest/focus-ingest/convert"
)

// benchSchema is a FOCUS-like schema: timestamps, money, quantity, tags, strings.
func benchSchema() *arrow.Schema {
	f := func(name string) arrow.Field {
		return arrow.Field{Name: name, Type: convert.TypeOf(convert.KindOf(name), convert.DefaultMoneyScale), Nullable: name != convert.ColChargePeriodStart}
	}
	names := []string{"ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "ResourceId", "Tags",
		"BilledCost", "EffectiveCost", "ListCost", "PricingQuantity", "ServiceName", "RegionId", "SkuId",
		"ChargeCategory", "ProviderName", "x_Note"}
	fields := make([]arrow.Field, len(names))
	for i, n := range names {
		fields[i] = f(n)
	}
	return arrow.NewSchema(fields, nil)
}

// benchBatch builds n rows over days days; interleaved mixes days row by row.
func benchBatch(mem memory.Allocator, n, days int, interleaved bool, rng *rand.Rand) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, benchSchema())
	defer b.Release()
	base := int64(1725148800) * 1_000_000 // 2024-09-01
	for i := 0; i < n; i++ {
		day := i * days / n
		if interleaved {
			day = rng.IntN(days)
		}
		start := base + int64(day)*86_400_000_000 + int64(rng.IntN(24))*3_600_000_000
		for c := 0; c < 3; c++ {
			b.Field(c).(*array.TimestampBuilder).Append(arrow.Timestamp(start))
		}
		res := rng.IntN(2000)
		b.Field(3).(*array.StringBuilder).Append(fmt.Sprintf("arn:aws:ec2:us-east-1:123456789012:instance/i-%08d", res))
		mb := b.Field(4).(*array.MapBuilder)
		mb.Append(true)
		kb, ib := mb.KeyBuilder().(*array.StringBuilder), mb.ItemBuilder().(*array.StringBuilder)
		for _, k := range []string{"env", "team", "app"} {
			kb.Append(k)
		}
		ib.Append([]string{"prod", "dev"}[res%2])
		ib.Append(fmt.Sprintf("team-%d", res%17))
		ib.Append(fmt.Sprintf("app-%d", res%50))
		for c := 5; c < 8; c++ {
			b.Field(c).(*array.Decimal128Builder).Append(decimal128.FromI64(rng.Int64N(1e12)).Mul(decimal128.GetScaleMultiplier(20)))
		}
		b.Field(8).(*array.Decimal128Builder).Append(decimal128.FromI64(rng.Int64N(1e6)).Mul(decimal128.GetScaleMultiplier(18)))
		b.Field(9).(*array.StringBuilder).Append([]string{"Amazon EC2", "Amazon S3", "AWS Lambda"}[res%3])
		b.Field(10).(*array.StringBuilder).Append([]string{"us-east-1", "eu-west-1"}[res%2])
		b.Field(11).(*array.StringBuilder).Append(fmt.Sprintf("SKU%06d", res%300))
		b.Field(12).(*array.StringBuilder).Append("Usage")
		b.Field(13).(*array.StringBuilder).Append("AWS")
		b.Field(14).(*array.StringBuilder).AppendNull()
	}
	return b.NewRecordBatch()
}

// BenchmarkJobWrite measures Write+Commit of 16 batches of 64Ki rows
// spread over 30 days into memblob, in rows/s.
func BenchmarkJobWrite(b *testing.B) {
	for _, interleaved := range []bool{false, true} {
		b.Run(fmt.Sprintf("interleaved=%v", interleaved), func(b *testing.B) {
			const batches, rows = 4, 65536
			mem := memory.NewGoAllocator()
			rng := rand.New(rand.NewPCG(1, 2))
			recs := make([]arrow.RecordBatch, batches)
			for i := range recs {
				recs[i] = benchBatch(mem, rows, 30, interleaved, rng)
				defer recs[i].Release()
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for range b.N {
				benchJob(b, mem, recs)
			}
			b.ReportMetric(float64(batches*rows*b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(batches*rows*b.N)/(cpuTime()-cpu0).Seconds(), "rows/cpu-s")
		})
	}
}

// cpuTime returns the CPU time (user+system) of the process: on a loaded
// machine rows per CPU second is steadier than rows per wall second.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchJob(b *testing.B, mem memory.Allocator, recs []arrow.RecordBatch) {
	ctx := context.Background()
	bucket, err := blob.OpenBucket(ctx, "mem://")
	if err != nil {
		b.Fatal(err)
	}
	defer bucket.Close()
	d, err := Open(ctx, bucket, Options{Compression: compress.Codecs.Snappy, Allocator: mem, MaxOpenWriters: 32})
	if err != nil {
		b.Fatal(err)
	}
	j, err := d.Begin(ctx, JobOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for i, rec := range recs {
		if err := j.Write(ctx, fmt.Sprintf("s%d", i%2), rec); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := j.Commit(ctx); err != nil {
		b.Fatal(err)
	}
}
