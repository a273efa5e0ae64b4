package pgmeta_test

import (
	"testing"
	"time"

	"github.com/goforward/goforward/bench/metabench"
)

func TestZZBench(t *testing.T) {
	h := newHarness(t)
	if err := metabench.Seed(t.Context(), h.DB.Pool, metabench.Config{Tables: 500}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		start := time.Now()
		res := h.get(t, "/pg/tables?included_schemas=bench")
		t.Log(res.Status, len(res.Body), time.Since(start), string(res.Body[:min(300, len(res.Body))]))
	}
}
