package live

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/synod-dev/synod/node"
)

// The files of a FileStore data directory.
const (
	storeLogName  = "store.log"     // the log: header, then batches of records
	storeTempName = "store.log.tmp" // a compaction in progress; never authoritative
	storeLockName = "LOCK"          // held (flock) while a FileStore is open
)

// storeMagic opens every log file: the format's name and version.
const storeMagic = "SYNODLG1"

// Record layout, all integers little-endian:
//
//	length  uint32  length of the payload
//	crc     uint32  CRC-32C (Castagnoli) of the length field and the payload
//	payload:
//	  op      byte    opSet, opDelete or opCommit
//	  keylen  uvarint
//	  key     keylen bytes
//	  value   the rest (opSet: the value; opDelete: empty;
//	          opCommit: uvarint count of the batch's set/delete records)
//
// A batch is any number of set/delete records followed by one commit record;
// only batches that end in a commit record are applied on replay, so a batch
// is all-or-nothing, like MemStore's Sync.
const (
	recHeaderLen = 8
	maxRecordLen = 1 << 28 // 256 MiB: a longer length field is damage

	opSet    byte = 1
	opDelete byte = 2
	opCommit byte = 3
)

// Preallocation: the log file is kept longer than its contents, the space
// past the last batch filled with zeros and made durable ahead of time, so
// that a Sync overwrites blocks the file already has: the file's size and
// block map do not change, and fdatasync has only the data to flush, not a
// journal commit (on ext4, about two thirds of the cost of appending, and
// less still when several stores on one disk sync at once; BENCHMARKS.md).
// The file grows by half its length, at least preallocMin and at most
// preallocMax at a time.
const (
	preallocMin = 256 << 10
	preallocMax = 8 << 20
)

// Compaction: when the log is larger than compactFactor times the live data
// and larger than compactMin, Sync rewrites it.
const (
	compactFactor     = 4
	defaultCompactMin = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// FileStore is a node.Store kept in a data directory: an append-only log of
// checksummed records, made durable on Sync.
//
// Set and Delete change an in-memory map at once (Get, Keys see them, as
// node.Store requires) and mark the key dirty; Sync appends one batch holding
// the current value of every dirty key, then a commit record counting them,
// in a single write, and syncs the file. A crash before Sync returns loses
// the whole batch or none of it. The file is preallocated: zeros, already on
// disk, follow the last batch, and a Sync writes over them and flushes only
// the data (fdatasync), unless it had to grow the file first. When the log
// outgrows the live data (more than four times it, and more than 1 MiB), Sync
// rewrites the live data to a temporary file, fsyncs it, renames it over the
// log and fsyncs the directory.
//
// OpenFileStore replays the log up to the preallocated zeros. A torn tail —
// a last batch cut short by a crash mid-write, whichever of its sectors
// reached the disk, or trailing garbage — is truncated away and reported in
// the Recovery. Damage followed by a complete batch (a commit record that
// counts every record since the one before) is not a torn tail but
// corruption of acknowledged data: OpenFileStore then refuses to open,
// naming the file and offset. (Damage within the last batch cannot be told
// from a torn write, and is cut like one.) A lock on the directory keeps a
// second FileStore (in this process or another) from opening it.
//
// If a write or sync fails, the state on disk is unknown: the store then
// fails every later Sync with the same error, and the node should stop and be
// restarted, which replays the log. A FileStore is safe for concurrent use.
type FileStore struct {
	mu     sync.Mutex
	dir    string
	path   string
	logger *slog.Logger
	lock   *dirLock
	f      *os.File // the log, opened for writing

	data  map[string][]byte   // the current contents, synced or not
	dirty map[string]struct{} // keys changed since the last Sync
	live  int64               // encoded size of data as set records
	size  int64               // length of the log: the end of its last batch
	alloc int64               // length of the file: zeros from size to here
	buf   []byte              // the batch being encoded, reused
	err   error               // sticky: set by a failed write, fsync or Close

	compactMin int64 // tests lower it
	syncs      int   // successful Syncs that wrote a batch
	compacts   int   // completed compactions
}

var _ node.Store = (*FileStore)(nil)

// Recovery describes what OpenFileStore found in the data directory.
type Recovery struct {
	// Path is the log file.
	Path string
	// Created reports that no log existed: the store starts empty.
	Created bool
	// Batches and Records count the committed batches and the set/delete
	// records in them that were replayed.
	Batches, Records int
	// Keys is the number of keys in the store after replay.
	Keys int
	// TornBytes is the length of the torn tail cut from the end of the log:
	// a last batch whose write never completed (a crash during Sync, so that
	// Sync never returned and nothing in it was acknowledged), or garbage
	// after the last complete batch. Zero when the log ended cleanly.
	TornBytes int64
	// TornAt is the offset at which the torn tail began, now the log's
	// length.
	TornAt int64
	// TornReason says what was found at TornAt.
	TornReason string
	// RemovedTemp reports that the temporary file of an interrupted
	// compaction was found and removed (the log itself was intact).
	RemovedTemp bool
}

// Torn reports whether a torn tail was cut from the log.
func (r Recovery) Torn() bool { return r.TornBytes > 0 }

// String summarizes the recovery in one line.
func (r Recovery) String() string {
	if r.Created {
		return fmt.Sprintf("%s: new store", r.Path)
	}
	s := fmt.Sprintf("%s: replayed %d batches, %d records, %d keys", r.Path, r.Batches, r.Records, r.Keys)
	if r.Torn() {
		s += fmt.Sprintf("; cut a torn tail of %d bytes at offset %d (%s)", r.TornBytes, r.TornAt, r.TornReason)
	}
	return s
}

// OpenFileStore opens the store in dir, creating the directory and an empty
// store if needed, and replays its log. It returns what recovery found; a
// torn tail is also logged as a warning. A nil logger means slog.Default().
//
// It fails if another FileStore holds dir, if the log is not a synod store
// log, or if the log is corrupt before its end (the error names the file and
// the offset of the first bad record; the file is left untouched).
func OpenFileStore(dir string, logger *slog.Logger) (*FileStore, Recovery, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, Recovery{}, fmt.Errorf("live: open store: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, Recovery{}, fmt.Errorf("live: open store %s: %w", dir, err)
	}
	s := &FileStore{
		dir:        dir,
		path:       filepath.Join(dir, storeLogName),
		logger:     logger,
		lock:       lock,
		data:       map[string][]byte{},
		dirty:      map[string]struct{}{},
		compactMin: defaultCompactMin,
	}
	rec, err := s.recover()
	if err != nil {
		lock.release()
		return nil, rec, err
	}
	if err := s.reopen(); err != nil {
		lock.release()
		return nil, rec, fmt.Errorf("live: open store: %w", err)
	}
	if rec.Torn() {
		logger.Warn("live: store: cut a torn tail from the log", "path", s.path, "offset", rec.TornAt,
			"bytes", rec.TornBytes, "reason", rec.TornReason)
	}
	if rec.RemovedTemp {
		logger.Info("live: store: removed the temporary file of an interrupted compaction", "dir", dir)
	}
	logger.Debug("live: store opened", "path", s.path, "keys", rec.Keys, "batches", rec.Batches)
	return s, rec, nil
}

// recover replays the log into s.data, creating the log if there is none and
// cutting off a torn tail.
func (s *FileStore) recover() (Recovery, error) {
	rec := Recovery{Path: s.path}
	tmp := filepath.Join(s.dir, storeTempName)
	if err := os.Remove(tmp); err == nil {
		rec.RemovedTemp = true
	} else if !errors.Is(err, fs.ErrNotExist) {
		return rec, fmt.Errorf("live: open store: remove leftover %s: %w", tmp, err)
	}
	buf, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(buf) == 0) {
		// No log (or an empty file nobody could have written records to):
		// create one atomically, so that a log always has its header.
		rec.Created = true
		if err := s.writeSnapshot(); err != nil {
			return rec, err
		}
		s.size = int64(len(storeMagic))
		return rec, nil
	}
	if err != nil {
		return rec, fmt.Errorf("live: open store: %w", err)
	}
	if len(buf) < len(storeMagic) || string(buf[:len(storeMagic)]) != storeMagic {
		return rec, fmt.Errorf("live: open store: %s is not a synod store log (no %q header)", s.path, storeMagic)
	}
	r, err := replay(buf, s.data)
	if err != nil {
		return rec, fmt.Errorf("live: open store: %s: %w", s.path, err)
	}
	rec.Batches, rec.Records, rec.Keys = r.batches, r.records, len(s.data)
	for k, v := range s.data {
		s.live += int64(recordLen(k, v))
	}
	s.size = r.good
	if r.reason != "" {
		// The preallocated zeros, if any, go with the torn tail: the next
		// Sync allocates afresh.
		rec.TornAt, rec.TornBytes, rec.TornReason = r.good, int64(len(buf))-r.good, r.reason
		if err := truncateFile(s.path, r.good); err != nil {
			return rec, fmt.Errorf("live: open store: cut the torn tail of %s at offset %d: %w", s.path, r.good, err)
		}
	}
	return rec, nil
}

// truncateFile cuts path to size and makes that durable.
func truncateFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// replayResult is what replay found.
type replayResult struct {
	good             int64  // offset just past the last commit record
	batches, records int    // committed
	reason           string // why replay stopped before the end, if it did
}

// pendingRec is a replayed record waiting for its batch's commit.
type pendingRec struct {
	op    byte
	key   string
	value []byte
}

// replay applies the committed batches of a log (header included) to data,
// up to the zeros that may follow them. Damage that no complete batch
// follows is a torn tail, reported in the result (reason is set); damage
// followed by a complete batch is an error.
func replay(buf []byte, data map[string][]byte) (replayResult, error) {
	r := replayResult{good: int64(len(storeMagic))}
	var batch []pendingRec
	off := len(storeMagic)
	// The zeros at the end are preallocated space (a log's last batch ends
	// in its commit record's count, never zero).
	buf = buf[:max(len(bytes.TrimRight(buf, "\x00")), len(storeMagic))]
	for off < len(buf) {
		op, key, value, n, problem := parseRecord(buf[off:])
		if problem != "" {
			if next := batchAfter(buf, off+1); next >= 0 {
				return r, fmt.Errorf("corrupt record at offset %d (%s), followed by a complete batch at offset %d: "+
					"refusing to open rather than lose acknowledged writes", off, problem, next)
			}
			r.reason = problem + " at offset " + fmt.Sprint(off)
			break
		}
		switch op {
		case opSet, opDelete:
			batch = append(batch, pendingRec{op, key, value})
		case opCommit:
			count, k := binary.Uvarint(value)
			if k <= 0 || k != len(value) || key != "" || count != uint64(len(batch)) {
				return r, fmt.Errorf("corrupt commit record at offset %d: it does not close the %d records before it",
					off, len(batch))
			}
			for _, p := range batch {
				if p.op == opSet {
					data[p.key] = slices.Clone(p.value)
				} else {
					delete(data, p.key)
				}
			}
			r.batches++
			r.records += len(batch)
			batch = batch[:0]
			r.good = int64(off + n)
		default:
			return r, fmt.Errorf("corrupt record at offset %d: unknown op %d with a valid checksum", off, op)
		}
		off += n
	}
	if r.reason == "" && r.good < int64(len(buf)) {
		r.reason = fmt.Sprintf("%d records without a commit record at offset %d", len(batch), r.good)
	}
	return r, nil
}

// parseRecord decodes the record at the start of b, returning its total
// length, or a description of what is wrong with it.
func parseRecord(b []byte) (op byte, key string, value []byte, n int, problem string) {
	if len(b) < recHeaderLen {
		return 0, "", nil, 0, "record header cut short by the end of the file"
	}
	length := binary.LittleEndian.Uint32(b)
	if length == 0 || length > maxRecordLen {
		return 0, "", nil, 0, fmt.Sprintf("impossible record length %d", length)
	}
	if int64(len(b)) < recHeaderLen+int64(length) {
		return 0, "", nil, 0, "record cut short by the end of the file"
	}
	payload := b[recHeaderLen : recHeaderLen+int(length)]
	if recordCRC(b[:4], payload) != binary.LittleEndian.Uint32(b[4:]) {
		return 0, "", nil, 0, "checksum mismatch"
	}
	op = payload[0]
	keyLen, k := binary.Uvarint(payload[1:])
	if k <= 0 || keyLen > uint64(len(payload)-1-k) {
		return 0, "", nil, 0, "malformed record with a valid checksum"
	}
	rest := payload[1+k:]
	return op, string(rest[:keyLen]), rest[keyLen:], recHeaderLen + int(length), ""
}

// batchAfter returns the offset of the first complete batch at or after
// from — valid records closed by a commit record that counts them all — or
// -1. What a torn write leaves of a batch whose start never reached the disk
// ends in a commit that counts more records than it holds, and is not one.
func batchAfter(buf []byte, from int) int {
	for at := findRecord(buf, from); at >= 0; at = findRecord(buf, at+1) {
		start, records := at, 0
		for at < len(buf) {
			op, key, value, n, problem := parseRecord(buf[at:])
			if problem != "" {
				break
			}
			at += n
			if op != opCommit {
				records++
				continue
			}
			if count, k := binary.Uvarint(value); k > 0 && k == len(value) && key == "" && count == uint64(records) {
				return start
			}
			start, records = at, 0 // a fragment ended: a batch may start here
		}
		if at >= len(buf) {
			return -1
		}
	}
	return -1
}

// findRecord returns the offset of the first valid record at or after from,
// or -1.
func findRecord(buf []byte, from int) int {
	for i := from; i+recHeaderLen <= len(buf); i++ {
		if _, _, _, _, problem := parseRecord(buf[i:]); problem == "" {
			return i
		}
	}
	return -1
}

func recordCRC(lenField, payload []byte) uint32 {
	return crc32.Update(crc32.Update(0, castagnoli, lenField), castagnoli, payload)
}

// recordLen is the encoded length of a set record.
func recordLen(key string, value []byte) int {
	return recHeaderLen + 1 + uvarintLen(uint64(len(key))) + len(key) + len(value)
}

func uvarintLen(x uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], x)
}

// appendRecord appends an encoded record to buf.
func appendRecord(buf []byte, op byte, key string, value []byte) []byte {
	start := len(buf)
	buf = append(buf, 0, 0, 0, 0, 0, 0, 0, 0, op)
	buf = binary.AppendUvarint(buf, uint64(len(key)))
	buf = append(buf, key...)
	buf = append(buf, value...)
	binary.LittleEndian.PutUint32(buf[start:], uint32(len(buf)-start-recHeaderLen))
	binary.LittleEndian.PutUint32(buf[start+4:], recordCRC(buf[start:start+4], buf[start+recHeaderLen:]))
	return buf
}

// appendCommit appends the commit record closing a batch of count records.
func appendCommit(buf []byte, count int) []byte {
	var c [binary.MaxVarintLen64]byte
	return appendRecord(buf, opCommit, "", c[:binary.PutUvarint(c[:], uint64(count))])
}

// Get implements node.Store: it returns a copy of the value stored under key.
func (s *FileStore) Get(key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.data[key]
	if !ok {
		return nil, false
	}
	return slices.Clone(v), true
}

// Set implements node.Store: it stores a copy of value under key, durable
// after the next Sync.
func (s *FileStore) Set(key string, value []byte) {
	v := make([]byte, len(value))
	copy(v, value)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.data[key]; ok {
		s.live -= int64(recordLen(key, old))
	}
	s.data[key] = v
	s.live += int64(recordLen(key, v))
	s.dirty[key] = struct{}{}
}

// Delete implements node.Store: it removes key, durably after the next Sync.
func (s *FileStore) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.data[key]
	if !ok {
		return // absent now, so absent on disk or already dirty
	}
	s.live -= int64(recordLen(key, old))
	delete(s.data, key)
	s.dirty[key] = struct{}{}
}

// Keys implements node.Store: the keys that start with prefix, sorted.
func (s *FileStore) Keys(prefix string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k := range s.data {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// Sync implements node.Store: it appends every write since the last Sync to
// the log as one batch and fsyncs it. It may then compact the log.
func (s *FileStore) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if len(s.dirty) == 0 {
		return nil
	}
	buf := s.buf[:0]
	for _, k := range slices.Sorted(maps.Keys(s.dirty)) {
		if v, ok := s.data[k]; ok {
			if recordLen(k, v)-recHeaderLen > maxRecordLen {
				return fmt.Errorf("live: store sync: key %q: value of %d bytes is over the limit of %d", k, len(v), maxRecordLen)
			}
			buf = appendRecord(buf, opSet, k, v)
		} else {
			buf = appendRecord(buf, opDelete, k, nil)
		}
	}
	buf = appendCommit(buf, len(s.dirty))
	if cap(buf) <= 1<<20 {
		s.buf = buf // keep a modest buffer for the next batch
	}
	grown, err := s.preallocate(s.size + int64(len(buf)))
	if err == nil {
		_, err = s.f.WriteAt(buf, s.size)
	}
	if err != nil {
		s.err = fmt.Errorf("live: store sync: write %s: %w (the store is unusable until reopened)", s.path, err)
		return s.err
	}
	// Over preallocated zeros only the data changed; a grown file also
	// needs its new length and blocks made durable.
	if grown {
		err = s.f.Sync()
	} else {
		err = datasync(s.f)
	}
	if err != nil {
		s.err = fmt.Errorf("live: store sync: fsync %s: %w (the store is unusable until reopened)", s.path, err)
		return s.err
	}
	s.size += int64(len(buf))
	s.syncs++
	if len(s.dirty) > 1024 {
		// clear keeps the map's table, and ranging over it costs its
		// capacity: after a large batch (a compacted Raft log) every later
		// Sync would pay for it.
		s.dirty = map[string]struct{}{}
	} else {
		clear(s.dirty)
	}
	if s.size > s.compactMin && s.size > compactFactor*(s.live+int64(len(storeMagic))) {
		if err := s.compactLocked(); err != nil {
			if s.err != nil {
				return s.err
			}
			// The batch is durable and the old log still in use.
			s.logger.Warn("live: store: compaction failed; the log keeps growing", "path", s.path, "err", err)
			s.compactMin = 2 * s.size // back off
		}
	}
	return nil
}

// Syncs returns how many Syncs have written a batch and fsynced it since the
// store was opened (a Sync with nothing to write does not count). It is what
// Metrics.WatchStore exports as synod_store_syncs_total.
func (s *FileStore) Syncs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.syncs
}

// Compact rewrites the log to hold only the synced live data. Sync does this
// by itself when the log has grown; Compact fails if writes are pending.
func (s *FileStore) Compact() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if len(s.dirty) > 0 {
		return fmt.Errorf("live: store compact: %d keys have unsynced writes: Sync first", len(s.dirty))
	}
	return s.compactLocked()
}

// compactLocked replaces the log with a snapshot of s.data, which must be
// all synced. A failure that leaves no usable log sets s.err.
func (s *FileStore) compactLocked() error {
	if err := s.f.Close(); err != nil {
		s.err = fmt.Errorf("live: store compact: close %s: %w (the store is unusable until reopened)", s.path, err)
		return s.err
	}
	serr := s.writeSnapshot()
	if err := s.reopen(); err != nil {
		s.err = fmt.Errorf("live: store compact: %w (the store is unusable until reopened)", err)
		return s.err
	}
	if serr != nil {
		// The old log is still the log: its end is where it was.
		return serr
	}
	s.size = s.alloc // a fresh snapshot has no preallocated space
	s.compacts++
	return nil
}

// reopen opens the log for writing and learns the file's length (s.alloc);
// s.size, the end of the log's contents, is the caller's to set.
func (s *FileStore) reopen() error {
	f, err := os.OpenFile(s.path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	s.f, s.alloc = f, st.Size()
	return nil
}

// zeros is what preallocate writes, a piece at a time.
var zeros = make([]byte, 64<<10)

// preallocate makes the file at least need bytes long, writing zeros past
// its end (not fallocate: an unwritten extent must still be converted, a
// metadata change, when it is first written). It reports whether the file
// grew; the caller's fsync makes the growth durable.
func (s *FileStore) preallocate(need int64) (grew bool, err error) {
	if need <= s.alloc {
		return false, nil
	}
	target := need + min(max(need/2, preallocMin), preallocMax)
	for off := s.alloc; off < target; {
		n, err := s.f.WriteAt(zeros[:min(int64(len(zeros)), target-off)], off)
		off += int64(n)
		if err != nil {
			s.alloc = off
			return true, err
		}
	}
	s.alloc = target
	return true, nil
}

// writeSnapshot writes the header and s.data as one batch to the temporary
// file, fsyncs it, renames it over the log and fsyncs the directory. If it
// fails, the old log (if any) is still in place.
func (s *FileStore) writeSnapshot() (err error) {
	tmp := filepath.Join(s.dir, storeTempName)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("live: store: write snapshot: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := w.WriteString(storeMagic); err != nil {
		return fmt.Errorf("live: store: write %s: %w", tmp, err)
	}
	if len(s.data) > 0 {
		var rb []byte
		for _, k := range slices.Sorted(maps.Keys(s.data)) {
			rb = appendRecord(rb[:0], opSet, k, s.data[k])
			if _, err := w.Write(rb); err != nil {
				return fmt.Errorf("live: store: write %s: %w", tmp, err)
			}
		}
		if _, err := w.Write(appendCommit(rb[:0], len(s.data))); err != nil {
			return fmt.Errorf("live: store: write %s: %w", tmp, err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("live: store: write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("live: store: fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("live: store: close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("live: store: rename %s: %w", tmp, err)
	}
	if err := syncDir(s.dir); err != nil {
		// The rename happened; only its durability is in doubt.
		return fmt.Errorf("live: store: fsync directory %s: %w", s.dir, err)
	}
	return nil
}

// errStoreClosed is the sticky error of a closed FileStore.
var errStoreClosed = errors.New("live: store is closed")

// Close releases the log and the directory lock. Writes not yet synced are
// discarded, exactly as a crash would discard them: call Sync first to keep
// them. After Close, reads still see the in-memory contents and Sync fails.
func (s *FileStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock == nil {
		return nil
	}
	var err error
	if s.f != nil {
		if cerr := s.f.Close(); cerr != nil {
			err = fmt.Errorf("live: store close %s: %w", s.path, cerr)
		}
	}
	if lerr := s.lock.release(); lerr != nil && err == nil {
		err = fmt.Errorf("live: store close: release lock: %w", lerr)
	}
	s.lock = nil
	s.err = errStoreClosed
	return err
}
