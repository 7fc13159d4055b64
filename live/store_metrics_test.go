package live

import (
	"testing"
)

// synod_store_syncs_total counts the Syncs that wrote a batch, not the calls
// that had nothing to write.
func TestWatchStoreCountsSyncsThatWrite(t *testing.T) {
	s, _ := openStore(t, t.TempDir())
	defer s.Close()
	m := NewMetrics()
	m.WatchStore(s)
	count := func() float64 {
		t.Helper()
		mfs, err := m.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "synod_store_syncs_total" {
				return mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
		t.Fatal("no synod_store_syncs_total in the registry")
		return 0
	}
	for i, key := range []string{"a", "b", "c"} {
		s.Set(key, []byte("v"))
		if err := s.Sync(); err != nil {
			t.Fatal(err)
		}
		if err := s.Sync(); err != nil { // nothing pending: no write, no count
			t.Fatal(err)
		}
		if got, want := count(), float64(i+1); got != want {
			t.Fatalf("after %d batches the counter is %v", i+1, got)
		}
	}
}
