// Command golib is the Go-library baseline of bench/run.py: one transfer with
// storj.io/uplink itself (the version uplink_py links), timed around the call on
// an open project as uplink_py's figures are: no process start, and the pools
// warm (uplink_py's long-lived project has its node connections pooled; here a
// 1 MiB upload and download of a scratch object dial them first).
//
//	STORJ_TEST_ACCESS=GRANT golib -op down -bucket B -key K -size N
//	STORJ_TEST_ACCESS=GRANT golib -op up -bucket B -key K -file PATH
//	STORJ_TEST_ACCESS=GRANT golib -op ttfb -bucket B -key K -count N
//
// The grant comes from the environment, not the command line, which other users of
// the machine can read (/proc/PID/cmdline).
//
// It prints one JSON line: the seconds of the transfer, the bytes moved, their
// SHA-256 (computed after the clock stopped), and the peak RSS of the process; for
// ttfb, the milliseconds from DownloadObject to the first byte read, N times.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"storj.io/uplink"
)

type result struct {
	Seconds     float64   `json:"seconds"`
	CPUSeconds  float64   `json:"cpu_seconds"` // of the transfer, every thread
	Bytes       int64     `json:"bytes"`
	SHA256      string    `json:"sha256"`
	MaxRSSBytes int64     `json:"max_rss_bytes"` // VmHWM (ru_maxrss can carry the parent's over exec)
	TTFBms      []float64 `json:"ttfb_ms,omitempty"`
}

func cpuSeconds() float64 {
	var usage syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &usage)
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano()).Seconds()
}

// peakRSS is the process's VmHWM in bytes, 0 where /proc has none.
func peakRSS() int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kib * 1024
		}
	}
	return 0
}

func main() {
	op := flag.String("op", "", "down or up")
	bucket := flag.String("bucket", "", "bucket")
	key := flag.String("key", "", "object key")
	size := flag.Int64("size", 0, "down: the object's size (the buffer read into)")
	file := flag.String("file", "", "up: the file whose bytes are uploaded (read before the clock starts)")
	count := flag.Int("count", 50, "ttfb: how many downloads are begun")
	flag.Parse()
	grant := os.Getenv("STORJ_TEST_ACCESS")
	if grant == "" {
		fmt.Fprintln(os.Stderr, "golib: STORJ_TEST_ACCESS (a serialized access grant) is not set")
		os.Exit(2)
	}
	if err := run(grant, *op, *bucket, *key, *size, *file, *count); err != nil {
		fmt.Fprintln(os.Stderr, "golib:", err)
		os.Exit(1)
	}
}

func run(grant, op, bucket, key string, size int64, file string, count int) error {
	ctx := context.Background()
	access, err := uplink.ParseAccess(grant)
	if err != nil {
		return err
	}
	project, err := uplink.OpenProject(ctx, access)
	if err != nil {
		return err
	}
	defer func() { _ = project.Close() }()
	if err := warmUp(ctx, project, bucket, key+".warm-up"); err != nil {
		return err
	}
	var buf []byte
	var start time.Time
	var cpu float64
	switch op {
	case "down":
		buf = make([]byte, size)
		for i := range buf { // touched, as uplink_py's target array is
			buf[i] = 1
		}
		start, cpu = time.Now(), cpuSeconds()
		err = download(ctx, project, bucket, key, buf)
	case "ttfb":
		samples, err := ttfb(ctx, project, bucket, key, count)
		if err != nil {
			return err
		}
		return json.NewEncoder(os.Stdout).Encode(result{TTFBms: samples, MaxRSSBytes: peakRSS()})
	case "up":
		if buf, err = os.ReadFile(file); err != nil {
			return err
		}
		start, cpu = time.Now(), cpuSeconds()
		err = upload(ctx, project, bucket, key, buf)
	default:
		return fmt.Errorf("-op must be down, up or ttfb, not %q", op)
	}
	seconds, cpu := time.Since(start).Seconds(), cpuSeconds()-cpu
	if err != nil {
		return err
	}
	sum := sha256.Sum256(buf)
	return json.NewEncoder(os.Stdout).Encode(result{
		Seconds: seconds, CPUSeconds: cpu, Bytes: int64(len(buf)), SHA256: hex.EncodeToString(sum[:]), MaxRSSBytes: peakRSS(),
	})
}

func download(ctx context.Context, project *uplink.Project, bucket, key string, buf []byte) error {
	d, err := project.DownloadObject(ctx, bucket, key, nil)
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	if _, err := io.ReadFull(d, buf); err != nil {
		return err
	}
	if n, _ := d.Read(make([]byte, 1)); n != 0 {
		return fmt.Errorf("%s is longer than -size %d", key, len(buf))
	}
	return d.Close()
}

// ttfb times DownloadObject until its first byte has been read, count times.
func ttfb(ctx context.Context, project *uplink.Project, bucket, key string, count int) ([]float64, error) {
	samples := make([]float64, 0, count)
	one := make([]byte, 1)
	for range count {
		start := time.Now()
		d, err := project.DownloadObject(ctx, bucket, key, nil)
		if err != nil {
			return nil, err
		}
		_, err = io.ReadFull(d, one)
		samples = append(samples, float64(time.Since(start).Microseconds())/1000)
		_ = d.Close()
		if err != nil {
			return nil, err
		}
	}
	return samples, nil
}

func upload(ctx context.Context, project *uplink.Project, bucket, key string, data []byte) error {
	u, err := project.UploadObject(ctx, bucket, key, nil)
	if err != nil {
		return err
	}
	if _, err := u.Write(data); err != nil {
		_ = u.Abort()
		return err
	}
	return u.Commit()
}

// warmUp dials the satellite and storage nodes through a 1 MiB upload and download.
func warmUp(ctx context.Context, project *uplink.Project, bucket, key string) error {
	data := make([]byte, 1<<20)
	if err := upload(ctx, project, bucket, key, data); err != nil {
		return err
	}
	if err := download(ctx, project, bucket, key, data); err != nil {
		return err
	}
	_, err := project.DeleteObject(ctx, bucket, key)
	return err
}
