package live

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
)

var quietLogger = slog.New(slog.DiscardHandler)

func openStore(t testing.TB, dir string) (*FileStore, Recovery) {
	t.Helper()
	s, rec, err := OpenFileStore(dir, quietLogger)
	if err != nil {
		t.Fatalf("OpenFileStore(%s): %v", dir, err)
	}
	return s, rec
}

func mustSync(t testing.TB, s node.Store) {
	t.Helper()
	if err := s.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

// contents returns every key and value of a store.
func contents(s node.Store) map[string]string {
	m := map[string]string{}
	for _, k := range s.Keys("") {
		v, _ := s.Get(k)
		m[k] = string(v)
	}
	return m
}

func checkContents(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if maps.Equal(got, want) {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[k]; !ok {
			t.Fatalf("%s: key %q missing (want %d bytes)", what, k, len(want[k]))
		} else if g != want[k] {
			t.Fatalf("%s: key %q has %d bytes %.20q..., want %d bytes %.20q...", what, k, len(g), g, len(want[k]), want[k])
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Fatalf("%s: unexpected key %q", what, k)
		}
	}
}

// logSize is the length of the log in dir up to its preallocated zeros:
// where its last batch ends (which is never a zero byte).
func logSize(t testing.TB, dir string) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, storeLogName))
	if err != nil {
		t.Fatal(err)
	}
	return int64(len(bytes.TrimRight(b, "\x00")))
}

// fileSize is the length of the log file in dir, preallocation included.
func fileSize(t testing.TB, dir string) int64 {
	t.Helper()
	st, err := os.Stat(filepath.Join(dir, storeLogName))
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// crash stops a store the way a killed process does: nothing more is
// written and pending writes are gone. (Close does exactly that; the name
// says what the test means.)
func crash(t testing.TB, s *FileStore) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}

func TestFileStoreSyncedWritesSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s, rec := openStore(t, dir)
	if !rec.Created || rec.Keys != 0 {
		t.Fatalf("fresh store: recovery %+v", rec)
	}
	in := []byte("one")
	s.Set("a", in)
	in[0] = 'X' // Set must have copied
	s.Set("b/2", []byte("two"))
	s.Set("b/1", []byte{})
	s.Set("gone", []byte("soon"))
	mustSync(t, s)
	s.Delete("gone")
	s.Set("a", []byte("uno"))
	mustSync(t, s)
	out, _ := s.Get("a")
	out[0] = 'Y' // Get must return a copy
	if v, _ := s.Get("a"); string(v) != "uno" {
		t.Fatalf("Get after mutating a returned slice: %q", v)
	}
	want := map[string]string{"a": "uno", "b/1": "", "b/2": "two"}
	checkContents(t, "before close", contents(s), want)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, rec = openStore(t, dir)
	defer s.Close()
	checkContents(t, "after reopen", contents(s), want)
	if rec.Created || rec.Torn() || rec.Batches != 2 || rec.Records != 6 || rec.Keys != 3 {
		t.Fatalf("recovery %+v, want 2 clean batches, 6 records, 3 keys", rec)
	}
	if v, ok := s.Get("b/1"); !ok || v == nil || len(v) != 0 {
		t.Fatalf("empty value came back as %v, %v", v, ok)
	}
	if got := s.Keys("b/"); !slices.Equal(got, []string{"b/1", "b/2"}) {
		t.Fatalf("Keys(b/) = %q", got)
	}
	if got := s.Keys("zzz"); len(got) != 0 {
		t.Fatalf("Keys(zzz) = %q", got)
	}
}

func TestFileStoreUnsyncedWritesAreLostInACrash(t *testing.T) {
	dir := t.TempDir()
	s, _ := openStore(t, dir)
	s.Set("a", []byte("1"))
	s.Set("b", []byte("2"))
	mustSync(t, s)
	s.Set("a", []byte("changed"))
	s.Delete("b")
	s.Set("c", []byte("new"))
	if v, _ := s.Get("a"); string(v) != "changed" {
		t.Fatalf("unsynced write not visible before the crash: %q", v)
	}
	crash(t, s)

	s, rec := openStore(t, dir)
	defer s.Close()
	checkContents(t, "after crash", contents(s), map[string]string{"a": "1", "b": "2"})
	if rec.Torn() || rec.Batches != 1 {
		t.Fatalf("recovery %+v, want one clean batch", rec)
	}
}

func TestFileStoreSyncWithNothingPendingWritesNothing(t *testing.T) {
	dir := t.TempDir()
	s, _ := openStore(t, dir)
	defer s.Close()
	s.Set("a", []byte("1"))
	mustSync(t, s)
	size := logSize(t, dir)
	s.Delete("never-there")
	mustSync(t, s)
	mustSync(t, s)
	if got := logSize(t, dir); got != size {
		t.Fatalf("log grew from %d to %d with nothing to sync", size, got)
	}
}

// threeBatches writes three batches to a fresh store in dir and returns the
// log's size after each one and the contents after the second.
func threeBatches(t *testing.T, dir string) (sizes [3]int64, afterTwo map[string]string) {
	s, _ := openStore(t, dir)
	s.Set("a", []byte("first"))
	s.Set("b", bytes.Repeat([]byte("b"), 40))
	mustSync(t, s)
	sizes[0] = logSize(t, dir)
	s.Set("c", []byte("second"))
	s.Delete("a")
	mustSync(t, s)
	sizes[1] = logSize(t, dir)
	afterTwo = contents(s)
	s.Set("a", []byte("third"))
	s.Set("d", bytes.Repeat([]byte("d"), 30))
	s.Delete("b")
	mustSync(t, s)
	sizes[2] = logSize(t, dir)
	crash(t, s)
	return sizes, afterTwo
}

// threeBatchLog is threeBatches in a directory of its own, with the bytes
// of the log it left.
func threeBatchLog(t *testing.T) (sizes [3]int64, afterTwo map[string]string, log []byte) {
	t.Helper()
	dir := t.TempDir()
	sizes, afterTwo = threeBatches(t, dir)
	log, err := os.ReadFile(filepath.Join(dir, storeLogName))
	if err != nil {
		t.Fatal(err)
	}
	return sizes, afterTwo, log
}

func TestFileStoreCutsATornTail(t *testing.T) {
	sizes, want, full := threeBatchLog(t)
	// A crash mid-write leaves any prefix of the last batch.
	for cut := sizes[1]; cut < sizes[2]; cut++ {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, storeLogName), full[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		s, rec, err := OpenFileStore(dir, quietLogger)
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		checkContents(t, fmt.Sprintf("cut at %d", cut), contents(s), want)
		if rec.TornBytes != cut-sizes[1] || (cut > sizes[1] && rec.TornAt != sizes[1]) || rec.Batches != 2 {
			t.Fatalf("cut at %d: recovery %+v, want %d torn bytes at %d after 2 batches", cut, rec, cut-sizes[1], sizes[1])
		}
		if cut > sizes[1] && (rec.TornReason == "" || !strings.Contains(rec.String(), "torn tail")) {
			t.Fatalf("cut at %d: the torn tail is not explained: %q", cut, rec.String())
		}
		if got := logSize(t, dir); got != sizes[1] {
			t.Fatalf("cut at %d: log is %d bytes after recovery, want %d", cut, got, sizes[1])
		}
		// The log is healthy again: a new batch lands after the good data.
		s.Set("after", []byte("recovery"))
		mustSync(t, s)
		crash(t, s)
		s, rec = openStore(t, dir)
		want["after"] = "recovery"
		checkContents(t, fmt.Sprintf("cut at %d, written again", cut), contents(s), want)
		delete(want, "after")
		if rec.Torn() || rec.Batches != 3 {
			t.Fatalf("cut at %d, written again: recovery %+v", cut, rec)
		}
		s.Close()
	}
}

func TestFileStoreCutsGarbageAfterTheLastBatch(t *testing.T) {
	for name, tail := range map[string][]byte{
		"random":            randomBytes(1, 4096),
		"random then zeros": append(randomBytes(2, 100), make([]byte, 4096)...),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			sizes, _ := threeBatches(t, dir)
			// Over the preallocated zeros, as a torn write leaves it.
			f, err := os.OpenFile(filepath.Join(dir, storeLogName), os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteAt(tail, sizes[2])
			f.Close()
			length := fileSize(t, dir)
			s, rec := openStore(t, dir)
			if rec.TornAt != sizes[2] || rec.TornBytes != length-sizes[2] || rec.Batches != 3 {
				t.Fatalf("recovery %+v, want %d torn bytes at %d", rec, length-sizes[2], sizes[2])
			}
			if got := fileSize(t, dir); got != sizes[2] {
				t.Fatalf("log file is %d bytes after recovery, want %d", got, sizes[2])
			}
			s.Close()
		})
	}
}

func TestFileStorePreallocates(t *testing.T) {
	dir := t.TempDir()
	sizes, _ := threeBatches(t, dir)
	if got := fileSize(t, dir); got < preallocMin {
		t.Fatalf("log file is %d bytes for %d bytes of batches: not preallocated", got, sizes[2])
	}
	// The zeros are free space, not a torn tail: nothing is cut, and the next
	// batch goes where the last one ended.
	s, rec := openStore(t, dir)
	if rec.Torn() || rec.Batches != 3 {
		t.Fatalf("recovery %+v, want 3 batches and no torn tail", rec)
	}
	length := fileSize(t, dir)
	want := contents(s)
	s.Set("e", []byte("fourth"))
	mustSync(t, s)
	crash(t, s)
	if got := fileSize(t, dir); got != length {
		t.Fatalf("a batch that fits the preallocated space changed the file's length from %d to %d", length, got)
	}
	b, _ := os.ReadFile(filepath.Join(dir, storeLogName))
	if _, _, _, _, problem := parseRecord(b[sizes[2]:]); problem != "" {
		t.Fatalf("no record where the third batch ended (%d): %s", sizes[2], problem)
	}
	s, rec = openStore(t, dir)
	defer s.Close()
	want["e"] = "fourth"
	if rec.Torn() || rec.Batches != 4 {
		t.Fatalf("recovery %+v, want 4 batches", rec)
	}
	checkContents(t, "after the fourth batch", contents(s), want)
	// A batch bigger than the space left grows the file, and survives.
	big := bytes.Repeat([]byte("x"), int(length))
	s.Set("big", big)
	mustSync(t, s)
	if got := fileSize(t, dir); got <= 2*length {
		t.Fatalf("file is %d bytes after a batch of %d", got, len(big))
	}
	crash(t, s)
	s, _ = openStore(t, dir)
	if v, _ := s.Get("big"); !bytes.Equal(v, big) {
		t.Fatalf("the batch that grew the file was lost: %d bytes back", len(v))
	}
	s.Close()
}

// A crash during the Sync of a batch written over preallocated zeros may
// leave any of its sectors on disk and not others: its start lost (zeros
// still) and its end written. What follows the damage is then a fragment of
// one batch, whose commit record counts records that are gone; that is a
// torn tail, cut like one, and the batches before it are all there.
func TestFileStoreCutsABatchWhoseStartIsLost(t *testing.T) {
	sizes, want, full := threeBatchLog(t)
	third := full[sizes[1]:sizes[2]]
	for lost := 1; lost < len(third); lost++ {
		damaged := slices.Clone(full)
		clear(damaged[sizes[1] : sizes[1]+int64(lost)]) // the zeros that were there
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, storeLogName), damaged, 0o600); err != nil {
			t.Fatal(err)
		}
		s, rec, err := OpenFileStore(dir, quietLogger)
		if err != nil {
			t.Fatalf("first %d bytes of the last batch lost: %v", lost, err)
		}
		checkContents(t, fmt.Sprintf("first %d bytes of the last batch lost", lost), contents(s), want)
		if rec.Batches != 2 || rec.TornAt != sizes[1] {
			t.Fatalf("first %d bytes of the last batch lost: recovery %+v, want 2 batches and a torn tail at %d", lost, rec, sizes[1])
		}
		s.Close()
	}
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestFileStoreRefusesACorruptRecordBeforeTheEnd(t *testing.T) {
	sizes, _, full := threeBatchLog(t)
	full = full[:sizes[2]+64] // and some of the preallocated zeros
	// The start of the record holding each byte.
	recordStart := make([]int, len(full))
	for off := len(storeMagic); off < int(sizes[2]); {
		_, _, _, n, problem := parseRecord(full[off:])
		if problem != "" {
			t.Fatalf("record at %d: %s", off, problem)
		}
		for i := off; i < off+n; i++ {
			recordStart[i] = off
		}
		off += n
	}
	// Any byte of the first two batches, damaged, is followed by the third.
	for i := len(storeMagic); i < int(sizes[1]); i++ {
		for _, flip := range []byte{0x01, 0x80, 0xff} {
			bad := slices.Clone(full)
			bad[i] ^= flip
			dir := t.TempDir()
			p := filepath.Join(dir, storeLogName)
			if err := os.WriteFile(p, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := OpenFileStore(dir, quietLogger)
			if err == nil {
				t.Fatalf("byte %d ^ %#x: opened a corrupt log", i, flip)
			}
			wantOffset := fmt.Sprintf("offset %d ", recordStart[i])
			if msg := err.Error(); !strings.Contains(msg, p) || !strings.Contains(msg, wantOffset) {
				t.Fatalf("byte %d ^ %#x: error %q does not name %s and %q", i, flip, msg, p, wantOffset)
			}
			if after, _ := os.ReadFile(p); !bytes.Equal(after, bad) {
				t.Fatalf("byte %d ^ %#x: a refused log was modified", i, flip)
			}
		}
	}
	// A refused open releases the lock: the operator gets the same answer.
	bad := slices.Clone(full)
	bad[len(storeMagic)+5] ^= 1
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, storeLogName), bad, 0o600)
	_, _, err1 := OpenFileStore(dir, quietLogger)
	_, _, err2 := OpenFileStore(dir, quietLogger)
	if err1 == nil || err2 == nil || err1.Error() != err2.Error() {
		t.Fatalf("second open of a corrupt log: %v, then %v", err1, err2)
	}
}

func TestFileStoreRefusesAForeignFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, storeLogName), []byte("hello, I am not a log"), 0o600)
	_, _, err := OpenFileStore(dir, quietLogger)
	if err == nil || !strings.Contains(err.Error(), "not a synod store log") {
		t.Fatalf("got %v", err)
	}
}

func TestFileStoreCompacts(t *testing.T) {
	dir := t.TempDir()
	s, _ := openStore(t, dir)
	s.compactMin = 16 << 10
	want := map[string]string{}
	for i := range 2000 {
		k := fmt.Sprintf("k%02d", i%50)
		v := strings.Repeat(strconv.Itoa(i), 10)
		s.Set(k, []byte(v))
		want[k] = v
		if i%7 == 0 {
			d := fmt.Sprintf("k%02d", (i*3)%50)
			s.Delete(d)
			delete(want, d)
		}
		mustSync(t, s)
	}
	if s.compacts == 0 {
		t.Fatal("the log never compacted")
	}
	if size, limit := logSize(t, dir), int64(compactFactor)*(s.live+8); size > max(limit, s.compactMin) {
		t.Fatalf("log is %d bytes for %d live bytes", size, s.live)
	}
	checkContents(t, "after compactions", contents(s), want)
	s.Set("pending", []byte("x"))
	if err := s.Compact(); err == nil {
		t.Fatal("Compact with pending writes succeeded")
	}
	mustSync(t, s)
	want["pending"] = "x"
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	crash(t, s)

	// A compaction interrupted before its rename leaves a temporary file,
	// never used and removed on open.
	os.WriteFile(filepath.Join(dir, storeTempName), []byte("half a snapshot"), 0o600)
	s, rec := openStore(t, dir)
	defer s.Close()
	checkContents(t, "after reopen", contents(s), want)
	if rec.Torn() || rec.Batches != 1 || !rec.RemovedTemp {
		t.Fatalf("recovery %+v, want one clean batch and the temp file removed", rec)
	}
	if _, err := os.Stat(filepath.Join(dir, storeTempName)); !os.IsNotExist(err) {
		t.Fatalf("temp file still there: %v", err)
	}
}

func TestFileStoreRefusesASecondOpen(t *testing.T) {
	dir := t.TempDir()
	s, _ := openStore(t, dir)
	_, _, err := OpenFileStore(dir, quietLogger)
	if err == nil || !strings.Contains(err.Error(), "in use") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second open: %v", err)
	}
	s.Close()
	s, _ = openStore(t, dir)
	s.Close()
}

func TestFileStoreFailedWriteMakesItUnusable(t *testing.T) {
	dir := t.TempDir()
	s, _ := openStore(t, dir)
	defer s.Close()
	ro, err := os.Open(filepath.Join(dir, storeLogName)) // writes to it fail
	if err != nil {
		t.Fatal(err)
	}
	s.f.Close()
	s.f = ro
	s.Set("a", []byte("1"))
	err1 := s.Sync()
	s.Set("b", []byte("2"))
	err2 := s.Sync()
	if err1 == nil || err2 == nil || err1.Error() != err2.Error() || !strings.Contains(err1.Error(), "unusable") {
		t.Fatalf("Sync after a failed write: %v, then %v", err1, err2)
	}
}

func TestFileStoreSyncAfterCloseFails(t *testing.T) {
	s, _ := openStore(t, t.TempDir())
	s.Close()
	s.Set("a", []byte("1"))
	if err := s.Sync(); err == nil {
		t.Fatal("Sync after Close succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// The kill -9 test: a child process writes and syncs batches in a loop,
// printing each sequence number after its Sync returns; the parent kills it
// at a random moment, reopens the store and checks that it holds exactly the
// state after some batch at or after the last acknowledged one.

const (
	helperEnv    = "SYNOD_FILESTORE_HELPER"
	helperDirEnv = "SYNOD_FILESTORE_DIR"
)

// helperApply is batch i of the child's workload.
func helperApply(st node.Store, i int) {
	n := 1 + (i*7919)%8000 // up to ~50 KB
	if i%25 == 0 {
		n = 300_000 // ~2 MB, long enough a write for a kill to tear it now and then
	}
	v := bytes.Repeat([]byte(strconv.Itoa(i)+"."), n)
	st.Set(fmt.Sprintf("k%02d", i%37), v)
	if i%5 == 0 {
		st.Delete(fmt.Sprintf("k%02d", (i*7)%37))
	}
	st.Set("seq", []byte(strconv.Itoa(i)))
}

// helperState is the store's contents after batches 1..seq.
func helperState(seq int) map[string]string {
	m := node.NewMemStore()
	for i := 1; i <= seq; i++ {
		helperApply(m, i)
	}
	return contents(m)
}

func TestFileStoreHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "writer" {
		t.Skip("run by TestFileStoreSurvivesKill9")
	}
	s, _, err := OpenFileStore(os.Getenv(helperDirEnv), quietLogger)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	s.compactMin = 256 << 10 // compact often, so that kills land in compactions too
	seq := 0
	if v, ok := s.Get("seq"); ok {
		seq, _ = strconv.Atoi(string(v))
	}
	for i := seq + 1; ; i++ {
		helperApply(s, i)
		if err := s.Sync(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stdout, "ack %d\n", i)
	}
}

func TestFileStoreSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	r := rand.New(rand.NewPCG(seed, 2))
	rounds, acked, tornRounds := 4, 0, 0
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFileStoreHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"=writer", helperDirEnv+"="+dir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acks := make(chan int, 1024)
		go func() {
			defer close(acks)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "ack ")); err == nil {
					acks <- n
				}
			}
		}()
		last := acked
		deadline := time.After(10 * time.Second)
		select {
		case n, ok := <-acks:
			if !ok {
				t.Fatalf("round %d: the child wrote nothing: %s", round, stderr.String())
			}
			last = n
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("round %d: no ack in 10s: %s", round, stderr.String())
		}
		// While the child holds the store, nobody else may open it.
		if _, _, err := OpenFileStore(dir, quietLogger); err == nil || !strings.Contains(err.Error(), "in use") ||
			!strings.Contains(err.Error(), fmt.Sprintf("pid %d", cmd.Process.Pid)) {
			cmd.Process.Kill()
			t.Fatalf("round %d: open while the child holds the store: %v", round, err)
		}
		time.Sleep(time.Duration(20+r.IntN(200)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		for n := range acks { // acks printed before the kill still count
			last = n
		}
		cmd.Wait()

		s, rec, err := OpenFileStore(dir, quietLogger)
		if err != nil {
			t.Fatalf("round %d (seed %d): reopen after kill -9: %v", round, seed, err)
		}
		v, _ := s.Get("seq")
		seq, _ := strconv.Atoi(string(v))
		if seq != last && seq != last+1 {
			t.Fatalf("round %d (seed %d): store is at batch %d, last acknowledged %d", round, seed, seq, last)
		}
		checkContents(t, fmt.Sprintf("round %d (seed %d), batch %d", round, seed, seq), contents(s), helperState(seq))
		if rec.Torn() {
			tornRounds++
		}
		t.Logf("round %d: %d batches acknowledged, store at %d; %s", round, last, seq, rec)
		acked = seq
		s.Close()
		if last == 0 {
			t.Fatalf("round %d: nothing acknowledged", round)
		}
	}
	t.Logf("%d of %d kills left a torn tail", tornRounds, rounds)
}

func BenchmarkFileStoreSync(b *testing.B) {
	s, _ := openStore(b, b.TempDir())
	defer s.Close()
	value := bytes.Repeat([]byte("v"), 100)
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("key/%04d", i)
	}
	b.SetBytes(int64(len(value)))
	for i := 0; b.Loop(); i++ {
		s.Set(keys[i%len(keys)], value)
		if err := s.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}
