// raw_reader: the fastest read of a topic this machine knows, as the yardstick for saldo's cold
// rebuild (bench/run.sh). It does only what a rebuild cannot avoid: fetch every record of every
// partition from its start up to the high watermark the partition had when the reader started, and
// count them. No decoding, no table. franz-go is used because it was the fastest client measured
// here (issue 23: ~3.6M records/s against librdkafka's ~2M on one thread): it fetches from all
// partitions concurrently and decodes batches on several goroutines.
//
//	raw_reader -brokers 127.0.0.1:9092 -topic bench
//
// Prints one line: `RAW records=N partitions=P seconds=S rate=R` (S from the first fetch request
// to the last record, the metadata and watermark lookups included).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "bootstrap servers, comma-separated")
	topic := flag.String("topic", "", "the topic to read (required)")
	timeout := flag.Duration("timeout", 15*time.Minute, "give up after this long")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: raw_reader -brokers HOST:PORT -topic NAME [-timeout D]\n"+
			"Reads every partition of NAME from its start to its start high watermark and counts the records.\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *topic == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(strings.Split(*brokers, ","), *topic, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "raw_reader:", err)
		os.Exit(1)
	}
}

func run(brokers []string, topic string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	t0 := time.Now()

	admin, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return err
	}
	adm := kadm.NewClient(admin)
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return fmt.Errorf("start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return fmt.Errorf("end offsets: %w", err)
	}
	admin.Close()

	// What each partition must reach: its last offset before the start high watermark.
	last := map[int32]int64{}
	from := map[int32]kgo.Offset{}
	var err2 error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			err2 = fmt.Errorf("partition %d: %w", o.Partition, o.Err)
			return
		}
		start, _ := starts.Lookup(topic, o.Partition)
		if o.Offset > start.Offset {
			last[o.Partition] = o.Offset - 1
			from[o.Partition] = kgo.NewOffset().At(start.Offset)
		}
	})
	if err2 != nil {
		return err2
	}
	partitions := len(ends[topic])
	if partitions == 0 {
		return fmt.Errorf("topic %q not found", topic)
	}

	client, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}),
		kgo.FetchMaxBytes(64<<20),
		kgo.FetchMaxPartitionBytes(16<<20),
		kgo.FetchMaxWait(10*time.Millisecond),
	)
	if err != nil {
		return err
	}
	defer client.Close()

	var records int64
	for len(last) > 0 {
		fetches := client.PollFetches(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("timed out with %d partitions unfinished after %d records", len(last), records)
		}
		var ferr error
		fetches.EachError(func(_ string, p int32, e error) { ferr = fmt.Errorf("partition %d: %w", p, e) })
		if ferr != nil {
			return ferr
		}
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			end, open := last[p.Partition]
			if !open {
				return
			}
			for _, r := range p.Records {
				if r.Offset > end {
					break
				}
				records++
				if r.Offset == end {
					delete(last, p.Partition)
					break
				}
			}
		})
	}
	s := time.Since(t0).Seconds()
	fmt.Printf("RAW records=%d partitions=%d seconds=%.3f rate=%.0f\n", records, partitions, s, float64(records)/s)
	return nil
}
