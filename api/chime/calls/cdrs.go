package calls

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/belfry/belfry/domain/chime/call"
	"github.com/belfry/belfry/domain/chime/settings"
)

// Objects is where CDRs are written (infra/objstore's targets implement it).
type Objects interface {
	Same(ctx context.Context, key string, body []byte, meta map[string]string) (bool, error)
	Put(ctx context.Context, key string, body []byte, meta map[string]string) error
}

// CDRTargets gives the objects of a bucket named in the global settings.
type CDRTargets interface {
	For(bucket string) Objects
}

// WriteCDRs writes the CDRs of an ended conference to the Business Calling CDR bucket of its AWS
// account's global settings, and nothing when none is set (logging is off: guide §7.1) or the
// conference has not ended. Writing again writes the same objects (keys and bodies depend only on
// the events), so a redelivery is harmless.
func (s *Service) WriteCDRs(ctx context.Context, conferenceID string) error {
	st, _, err := s.d.Calls.Load(ctx, call.StreamName(conferenceID))
	if err != nil || st.Ended.IsZero() {
		return err
	}
	set, _, err := s.d.Settings.Load(ctx, settings.StreamName(st.Placed.AwsAccountID))
	if err != nil || set.BusinessCallingCdrBucket == "" {
		return err
	}
	_, err = PutCDRs(ctx, s.d.CDRs.For(set.BusinessCallingCdrBucket), st)
	return err
}

// PutCDRs writes the CDRs of an ended conference to objects, skipping those already there with the
// same content, and returns how many it wrote.
func PutCDRs(ctx context.Context, objects Objects, st call.State) (int, error) {
	n := 0
	for i, cdr := range st.CDRs() {
		body, err := json.Marshal(cdr)
		if err != nil {
			return n, err
		}
		key := st.CDRKey(st.Legs[i])
		if same, err := objects.Same(ctx, key, body, nil); err == nil && same {
			continue
		}
		if err := objects.Put(ctx, key, body, map[string]string{}); err != nil {
			return n, fmt.Errorf("calls: write CDR %s: %w", key, err)
		}
		n++
	}
	return n, nil
}
