package chain_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/belfry/belfry/infra/eventlog/chain"
)

func BenchmarkDigestAndLink(b *testing.B) {
	e := chain.Event{Position: 42, Stream: "chime.account-bench-17", Revision: 7, EventID: uuid.New(), Type: "chime.account.renamed.v1",
		ContentType: "application/json", Created: 638000000000000000, Data: []byte(`{"name":"Renamed 123456"}`),
		Metadata: []byte(`{"actorType":"accessKey","actor":"AKIABENCHBENCHBENCH2","requestId":"00000000-0000-0000-0000-000000000000","schemaVersion":1}`)}
	var h chain.Hash
	b.ReportAllocs()
	for b.Loop() {
		h = chain.Link(h, chain.Digest(&e))
	}
}
