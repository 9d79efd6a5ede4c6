package eventlog

import (
	"context"
	"errors"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// streamsServer implements event_store.client.streams.Streams over a Log.
type streamsServer struct {
	api.UnimplementedStreamsServer
	log      *Log
	pageSize int
}

// --- errors as the client expects them ---

func deletedStatus(stream string) (error, metadata.MD) {
	md := metadata.Pairs("exception", "stream-deleted", "stream-name", stream)
	return status.Errorf(codes.FailedPrecondition, "event stream '%s' is deleted", stream), md
}

func toStatus(err error) (error, metadata.MD) {
	var del *StreamDeletedError
	var wev *WrongExpectedVersionError
	switch {
	case errors.As(err, &del):
		return deletedStatus(del.Stream)
	case errors.As(err, &wev):
		md := metadata.Pairs("exception", "wrong-expected-version", "stream-name", wev.Stream,
			"expected-version", wev.Expected.String(), "actual-version", strconv.FormatInt(wev.Current, 10))
		return status.Error(codes.FailedPrecondition, wev.Error()), md
	case errors.Is(err, ErrAppendTooLarge):
		return status.Errorf(codes.InvalidArgument, "Maximum Append Size of %d Exceeded.", MaxAppendSize),
			metadata.Pairs("exception", "maximum-append-size-exceeded", "maximum-append-size", strconv.Itoa(MaxAppendSize))
	case errors.Is(err, ErrInvalidRequest):
		return status.Error(codes.InvalidArgument, err.Error()), nil
	case errors.Is(err, ErrClosed):
		return status.Error(codes.Unavailable, "server is shutting down"), nil
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error()), nil
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error()), nil
	default:
		return status.Errorf(codes.Internal, "%v", err), nil
	}
}

func invalid(format string, a ...any) error {
	return status.Errorf(codes.InvalidArgument, format, a...)
}

// --- Append ---

func (s *streamsServer) Append(stream api.Streams_AppendServer) error {
	first, err := stream.Recv()
	if errors.Is(err, io.EOF) {
		return invalid("an append needs its options message")
	}
	if err != nil {
		return err
	}
	opts := first.GetOptions()
	if opts == nil {
		return invalid("the first append message must carry options")
	}
	name := string(opts.GetStreamIdentifier().GetStreamName())
	if name == "" {
		return invalid("stream name is required")
	}
	var expect Expect
	switch v := opts.GetExpectedStreamRevision().(type) {
	case *api.AppendReq_Options_Any:
		expect = Expect{Kind: ExpectAny}
	case *api.AppendReq_Options_NoStream:
		expect = Expect{Kind: ExpectNoStream}
	case *api.AppendReq_Options_StreamExists:
		expect = Expect{Kind: ExpectStreamExists}
	case *api.AppendReq_Options_Revision:
		expect = Expect{Kind: ExpectExact, Revision: v.Revision}
	default:
		return invalid("expected stream revision is required")
	}
	var events []Proposed
	size := 0
	in := new(proposedIn)
	for {
		err := stream.RecvMsg(in) // the codec decodes proposed events straight into in.p
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		p, err := in.proposed()
		if err != nil {
			return err
		}
		size += eventSize(&p)
		if size > MaxAppendSize {
			st, md := toStatus(ErrAppendTooLarge)
			stream.SetTrailer(md)
			return st
		}
		events = append(events, p)
	}
	res, err := s.log.Append(stream.Context(), name, expect, events)
	if err != nil {
		var wev *WrongExpectedVersionError
		if errors.As(err, &wev) {
			return stream.SendAndClose(&api.AppendResp{Result: &api.AppendResp_WrongExpectedVersion_{
				WrongExpectedVersion: wrongExpectedProto(wev)}})
		}
		st, md := toStatus(err)
		if md != nil {
			stream.SetTrailer(md)
		}
		return st
	}
	return stream.SendMsg(encodedResp(appendSuccess(nil, res)))
}

func wrongExpectedProto(w *WrongExpectedVersionError) *api.AppendResp_WrongExpectedVersion {
	out := &api.AppendResp_WrongExpectedVersion{}
	if w.Current < 0 {
		out.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
		out.CurrentRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_NoStream_20_6_0{NoStream_20_6_0: &shared.Empty{}}
	} else {
		out.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: uint64(w.Current)}
		out.CurrentRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_CurrentRevision_20_6_0{CurrentRevision_20_6_0: uint64(w.Current)}
	}
	switch w.Expected.Kind {
	case ExpectAny:
		out.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
	case ExpectNoStream:
		out.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
	case ExpectStreamExists:
		out.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
	default:
		out.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: w.Expected.Revision}
	}
	return out
}

func uuidFromProto(id *shared.UUID) (uuid.UUID, error) {
	if id == nil {
		return uuid.Nil, errors.New("missing")
	}
	if st := id.GetStructured(); st != nil {
		var u uuid.UUID
		for i := 0; i < 8; i++ {
			u[i] = byte(uint64(st.MostSignificantBits) >> (56 - 8*i))
			u[8+i] = byte(uint64(st.LeastSignificantBits) >> (56 - 8*i))
		}
		return u, nil
	}
	return uuid.Parse(id.GetString_())
}

// proposed returns the event received, checked: a valid non-nil id and a type; the content type
// defaults to application/octet-stream, absent data and metadata are empty.
func (in *proposedIn) proposed() (Proposed, error) {
	p := in.p
	if !in.fast {
		pm := in.req.GetProposedMessage()
		if pm == nil {
			return Proposed{}, invalid("append messages after the first must be proposed events")
		}
		id, err := uuidFromProto(pm.GetId())
		if err != nil {
			return Proposed{}, invalid("event id must be a valid, non-nil UUID")
		}
		md := pm.GetMetadata()
		p = Proposed{EventID: id, Type: md["type"], ContentType: md["content-type"], Data: pm.GetData(), Metadata: pm.GetCustomMetadata()}
	}
	if p.EventID == uuid.Nil {
		return Proposed{}, invalid("event id must be a valid, non-nil UUID")
	}
	if p.Type == "" {
		return Proposed{}, invalid("event %s has no type", p.EventID)
	}
	if p.ContentType == "" {
		p.ContentType = "application/octet-stream"
	}
	if p.Data == nil {
		p.Data = []byte{}
	}
	if p.Metadata == nil {
		p.Metadata = []byte{}
	}
	return p, nil
}

// --- Delete / Tombstone ---

func expectFromOneof(v any) (Expect, bool) {
	switch v := v.(type) {
	case *api.DeleteReq_Options_Any, *api.TombstoneReq_Options_Any:
		return Expect{Kind: ExpectAny}, true
	case *api.DeleteReq_Options_NoStream, *api.TombstoneReq_Options_NoStream:
		return Expect{Kind: ExpectNoStream}, true
	case *api.DeleteReq_Options_StreamExists, *api.TombstoneReq_Options_StreamExists:
		return Expect{Kind: ExpectStreamExists}, true
	case *api.DeleteReq_Options_Revision:
		return Expect{Kind: ExpectExact, Revision: v.Revision}, true
	case *api.TombstoneReq_Options_Revision:
		return Expect{Kind: ExpectExact, Revision: v.Revision}, true
	}
	return Expect{}, false
}

func (s *streamsServer) Delete(ctx context.Context, req *api.DeleteReq) (*api.DeleteResp, error) {
	res, err := s.deleteOrTombstone(ctx, "delete", req.GetOptions().GetStreamIdentifier(), req.GetOptions().GetExpectedStreamRevision(), s.log.Delete)
	if err != nil {
		return nil, err
	}
	return &api.DeleteResp{PositionOption: &api.DeleteResp_Position_{Position: &api.DeleteResp_Position{
		CommitPosition: res.Position, PreparePosition: res.Position}}}, nil
}

func (s *streamsServer) Tombstone(ctx context.Context, req *api.TombstoneReq) (*api.TombstoneResp, error) {
	res, err := s.deleteOrTombstone(ctx, "tombstone", req.GetOptions().GetStreamIdentifier(), req.GetOptions().GetExpectedStreamRevision(), s.log.Tombstone)
	if err != nil {
		return nil, err
	}
	return &api.TombstoneResp{PositionOption: &api.TombstoneResp_Position_{Position: &api.TombstoneResp_Position{
		CommitPosition: res.Position, PreparePosition: res.Position}}}, nil
}

func (s *streamsServer) deleteOrTombstone(ctx context.Context, what string, id *shared.StreamIdentifier, rev any,
	op func(context.Context, string, Expect) (WriteResult, error)) (WriteResult, error) {
	name := string(id.GetStreamName())
	expect, ok := expectFromOneof(rev)
	if name == "" || !ok {
		return WriteResult{}, invalid("%s needs a stream name and an expected revision", what)
	}
	res, err := op(ctx, name, expect)
	if err != nil {
		st, md := toStatus(err)
		if md != nil {
			_ = grpc.SetTrailer(ctx, md)
		}
		return WriteResult{}, st
	}
	return res, nil
}

// --- Read and subscriptions ---

func (s *streamsServer) Read(req *api.ReadReq, srv api.Streams_ReadServer) error {
	o := req.GetOptions()
	if o == nil {
		return invalid("read options are required")
	}
	forwards := o.GetReadDirection() == api.ReadReq_Options_Forwards
	var f *filter
	if fo := o.GetFilter(); fo != nil {
		var err error
		if f, err = newFilter(fo); err != nil {
			return err
		}
	}
	if o.GetSubscription() != nil {
		if !forwards {
			return invalid("subscriptions read forwards only")
		}
		return s.subscribe(o, f, srv)
	}
	count := o.GetCount()
	switch so := o.GetStreamOption().(type) {
	case *api.ReadReq_Options_Stream:
		return s.readStream(so.Stream, forwards, count, srv)
	case *api.ReadReq_Options_All:
		return s.readAll(so.All, forwards, count, f, srv)
	default:
		return invalid("read needs a stream or $all option")
	}
}

func (s *streamsServer) readStream(so *api.ReadReq_Options_StreamOptions, forwards bool, count uint64, srv api.Streams_ReadServer) error {
	name := string(so.GetStreamIdentifier().GetStreamName())
	if err := checkReadStream(name); err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	if name == StoreStream {
		return srv.Send(storeEvent(s.log.StoreID()))
	}
	var from uint64
	switch v := so.GetRevisionOption().(type) {
	case *api.ReadReq_Options_StreamOptions_Revision:
		from = v.Revision
	case *api.ReadReq_Options_StreamOptions_Start:
		from = 0
	case *api.ReadReq_Options_StreamOptions_End:
		from = math.MaxUint64
		if forwards {
			return nil // nothing lies after the end
		}
	default:
		return invalid("read needs a revision option")
	}
	if !forwards && from == math.MaxUint64 {
		from = math.MaxInt64 - 1
	}
	ctx := srv.Context()
	es := eventSender{stream: srv}
	sent := uint64(0)
	pages := newPageSizer(s.pageSize) // pages of a few MiB, not pageSize events of up to 1 MiB each
	for sent < count {
		page := int(min(count-sent, uint64(pages.next)))
		recs, err := s.log.ReadStream(ctx, name, forwards, from, page, 0)
		if errors.Is(err, ErrStreamNotFound) {
			if sent > 0 {
				return nil
			}
			return srv.Send(&api.ReadResp{Content: &api.ReadResp_StreamNotFound_{StreamNotFound: &api.ReadResp_StreamNotFound{
				StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(name)}}}})
		}
		if err != nil {
			st, md := toStatus(err)
			if md != nil {
				srv.SetTrailer(md)
			}
			return st
		}
		for i := range recs {
			if err := es.send(&recs[i]); err != nil {
				return err
			}
		}
		sent += uint64(len(recs))
		if len(recs) < page {
			return nil
		}
		pages.observe(recs)
		last := recs[len(recs)-1].Revision
		if forwards {
			from = last + 1
		} else {
			if last == 0 {
				return nil
			}
			from = last - 1
		}
	}
	return nil
}

func (s *streamsServer) readAll(ao *api.ReadReq_Options_AllOptions, forwards bool, count uint64, f *filter, srv api.Streams_ReadServer) error {
	var pos uint64
	switch v := ao.GetAllOption().(type) {
	case *api.ReadReq_Options_AllOptions_Start:
		pos = 0
	case *api.ReadReq_Options_AllOptions_End:
		pos = math.MaxUint64
	case *api.ReadReq_Options_AllOptions_Position:
		pos = v.Position.GetCommitPosition()
	default:
		return invalid("read $all needs a position option")
	}
	if count == 0 || (forwards && pos == math.MaxUint64) || (!forwards && pos == 0) {
		return nil
	}
	fetched := uint64(0)
	pages := newPageSizer(s.pageSize)
	// next runs on the read-ahead goroutine only: pos, fetched and pages are its own.
	next := func(ctx context.Context) ([]Record, bool, error) {
		n := uint64(pages.next)
		if f == nil {
			n = min(n, count-fetched) // unfiltered reads never fetch past count
		}
		var recs []Record
		var err error
		if forwards {
			recs, err = s.log.ReadAllForwards(ctx, pos, int(n))
		} else {
			before := pos
			if pos == math.MaxUint64 {
				before = 0
			}
			recs, err = s.log.ReadAllBackwards(ctx, before, int(n))
		}
		if err != nil || len(recs) == 0 {
			return nil, false, err
		}
		pages.observe(recs)
		fetched += uint64(len(recs))
		last := recs[len(recs)-1].Position
		if pos = last; forwards {
			pos = last + 1
		}
		more := uint64(len(recs)) == n && (f != nil || fetched < count) && (forwards || last > 1)
		return recs, more, nil
	}
	ahead, stop := readAhead(srv.Context(), next)
	defer stop()
	es := eventSender{stream: srv}
	sent := uint64(0)
	for p := range ahead {
		if p.err != nil {
			st, _ := toStatus(p.err)
			return st
		}
		for i := range p.recs {
			if f != nil && !f.match(&p.recs[i]) {
				continue
			}
			if err := es.send(&p.recs[i]); err != nil {
				return err
			}
			if sent++; sent >= count {
				return nil
			}
		}
	}
	return nil
}

// pageBytes is the data a page of a long read aims at: with one page being sent and one read ahead,
// a reader holds a few MiB, not ReadPageSize records of up to MaxAppendSize each.
const pageBytes = 4 << 20

// pageSizer sizes the successive pages of one long read: the first holds at most 32 records, each
// later one as many as fit pageBytes at the sizes seen so far, between 16 and max.
type pageSizer struct {
	max, next    int
	records      int
	payloadBytes int
}

func newPageSizer(max int) *pageSizer { return &pageSizer{max: max, next: min(max, 32)} }

func (p *pageSizer) observe(recs []Record) {
	for i := range recs {
		p.payloadBytes += len(recs[i].Data) + len(recs[i].Metadata) + len(recs[i].Stream) + 100
	}
	p.records += len(recs)
	p.next = min(p.max, max(16, pageBytes/(p.payloadBytes/p.records)))
}

// page is one batch of records handed over by readAhead.
type page struct {
	recs []Record
	err  error
}

// readAhead calls next on its own goroutine and hands over its pages in order, so that the next page
// is read from Postgres while the current one is encoded and sent. It stops after a page for which
// next reports no more (or an error), or when ctx ends. stop must be called once the caller is done
// with the pages; it returns after the goroutine has exited.
func readAhead(ctx context.Context, next func(context.Context) ([]Record, bool, error)) (pages <-chan page, stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	ch := make(chan page, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		for {
			recs, more, err := next(ctx)
			if err == nil && len(recs) == 0 {
				return
			}
			select {
			case ch <- page{recs: recs, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil || !more {
				return
			}
		}
	}()
	return ch, func() { cancel(); <-done }
}

// filter is a server-side subscription filter over stream names or event types.
type filter struct {
	onType   bool
	prefixes []string
	re       *regexp.Regexp
	interval uint64 // checkpoint every this many scanned events
}

func newFilter(fo *api.ReadReq_Options_FilterOptions) (*filter, error) {
	f := &filter{}
	var expr *api.ReadReq_Options_FilterOptions_Expression
	switch v := fo.GetFilter().(type) {
	case *api.ReadReq_Options_FilterOptions_StreamIdentifier:
		expr = v.StreamIdentifier
	case *api.ReadReq_Options_FilterOptions_EventType:
		expr, f.onType = v.EventType, true
	default:
		return nil, invalid("filter needs a stream or event-type expression")
	}
	var err error
	if f.prefixes, f.re, err = filterExpression(expr); err != nil {
		return nil, err
	}
	if len(f.prefixes) == 0 && f.re == nil {
		return nil, invalid("filter needs prefixes or a regex")
	}
	window := uint64(fo.GetMax())
	if window == 0 {
		window = 32
	}
	mult := uint64(fo.GetCheckpointIntervalMultiplier())
	if mult == 0 {
		mult = 1
	}
	f.interval = window * mult
	return f, nil
}

// The bounds of a filter expression. Compiling a regex costs about 2 µs of CPU and 50 bytes of heap
// (kept for the read's life) per byte of it, and every prefix is tried against every event scanned:
// unbounded, one request of 1 MiB would cost seconds and tens of MiB.
const (
	maxFilterRegex    = 32 << 10
	maxFilterPrefixes = 1000
)

// filterExpression returns the prefixes and the compiled regex of a filter expression within bounds:
// at most maxFilterPrefixes prefixes of at most MaxNameLength bytes (no longer one can match a name),
// a regex of at most maxFilterRegex bytes.
func filterExpression(expr *api.ReadReq_Options_FilterOptions_Expression) ([]string, *regexp.Regexp, error) {
	prefixes := expr.GetPrefix()
	if len(prefixes) > maxFilterPrefixes {
		return nil, nil, invalid("filter has %d prefixes; at most %d are allowed", len(prefixes), maxFilterPrefixes)
	}
	for i, p := range prefixes {
		if len(p) > MaxNameLength {
			return nil, nil, invalid("filter prefix %d is %d bytes long; at most %d are allowed", i, len(p), MaxNameLength)
		}
	}
	r := expr.GetRegex()
	if r == "" {
		return prefixes, nil, nil
	}
	if len(r) > maxFilterRegex {
		return nil, nil, invalid("filter regex is %d bytes long; at most %d are allowed", len(r), maxFilterRegex)
	}
	re, err := regexp.Compile(r)
	if err != nil {
		return nil, nil, invalid("filter regex %q: %v", r, err)
	}
	return prefixes, re, nil
}

func (f *filter) match(r *Record) bool {
	s := r.Stream
	if f.onType {
		s = r.Type
	}
	if f.re != nil {
		return f.re.MatchString(s)
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func (s *streamsServer) subscribe(o *api.ReadReq_Options, f *filter, srv api.Streams_ReadServer) error {
	ctx := srv.Context()
	subID := uuid.NewString()
	var after uint64 // last position already delivered (exclusive start)
	streamName := ""
	switch so := o.GetStreamOption().(type) {
	case *api.ReadReq_Options_Stream:
		streamName = string(so.Stream.GetStreamIdentifier().GetStreamName())
		if err := checkReadStream(streamName); err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
		head, _ := s.log.Head()
		if err := srv.Send(&api.ReadResp{Content: &api.ReadResp_Confirmation{Confirmation: &api.ReadResp_SubscriptionConfirmation{SubscriptionId: subID}}}); err != nil {
			return err
		}
		var err error
		switch v := so.Stream.GetRevisionOption().(type) {
		case *api.ReadReq_Options_StreamOptions_End:
		case *api.ReadReq_Options_StreamOptions_Start:
			err = s.catchUpStream(ctx, srv, streamName, 0, head)
		case *api.ReadReq_Options_StreamOptions_Revision:
			err = s.catchUpStream(ctx, srv, streamName, v.Revision+1, head)
		}
		if err != nil {
			return err
		}
		after = head
		f = &filter{prefixes: nil, re: regexp.MustCompile("^" + regexp.QuoteMeta(streamName) + "$")}
	case *api.ReadReq_Options_All:
		switch v := so.All.GetAllOption().(type) {
		case *api.ReadReq_Options_AllOptions_Start:
			after = 0
		case *api.ReadReq_Options_AllOptions_End:
			after, _ = s.log.Head()
		case *api.ReadReq_Options_AllOptions_Position:
			after = v.Position.GetCommitPosition()
		}
		if err := srv.Send(&api.ReadResp{Content: &api.ReadResp_Confirmation{Confirmation: &api.ReadResp_SubscriptionConfirmation{SubscriptionId: subID}}}); err != nil {
			return err
		}
	default:
		return invalid("subscription needs a stream or $all option")
	}
	return s.tail(ctx, srv, after, f, streamName != "")
}

// catchUpStream sends the stream's events from revision from whose positions are <= head. A head of
// 0 (the log was empty) has nothing to send; ReadStream would take it for no bound at all, and send
// events committed since, which the subscription then sends again live.
func (s *streamsServer) catchUpStream(ctx context.Context, srv api.Streams_ReadServer, name string, from uint64, head uint64) error {
	if head == 0 {
		return nil
	}
	es := eventSender{stream: srv}
	pages := newPageSizer(s.pageSize)
	for {
		n := pages.next
		recs, err := s.log.ReadStream(ctx, name, true, from, n, head)
		if errors.Is(err, ErrStreamNotFound) {
			return nil
		}
		if err != nil {
			st, md := toStatus(err)
			if md != nil {
				srv.SetTrailer(md)
			}
			return st
		}
		for i := range recs {
			if err := es.send(&recs[i]); err != nil {
				return err
			}
		}
		if len(recs) < n {
			return nil
		}
		pages.observe(recs)
		from = recs[len(recs)-1].Revision + 1
	}
}

// tail follows $all from position after (exclusive): catch-up from the log, then live from memory.
func (s *streamsServer) tail(ctx context.Context, srv api.Streams_ReadServer, after uint64, f *filter, streamSub bool) error {
	caughtUp := false
	var scanned uint64
	es := eventSender{stream: srv}
	checkpoint := func(pos uint64) error {
		scanned = 0
		return srv.Send(&api.ReadResp{Content: &api.ReadResp_Checkpoint_{Checkpoint: &api.ReadResp_Checkpoint{
			CommitPosition: pos, PreparePosition: pos}}})
	}
	deliver := func(r *Record) error {
		after = r.Position
		if f != nil && !f.match(r) {
			if !streamSub {
				if scanned++; scanned >= f.interval {
					return checkpoint(r.Position)
				}
			}
			return nil
		}
		if streamSub && r.Revision == TombstoneRevision { // not the type: a client may append that type
			st, md := deletedStatus(r.Stream)
			srv.SetTrailer(md)
			return st
		}
		if err := es.send(r); err != nil {
			return err
		}
		if f != nil && !streamSub {
			if scanned++; scanned >= f.interval {
				return checkpoint(r.Position)
			}
		}
		return nil
	}
	for {
		head, changed := s.log.Head()
		if s.log.Closed() {
			return status.Error(codes.Unavailable, "server is shutting down")
		}
		if after >= head {
			if !caughtUp {
				caughtUp = true
				if err := srv.Send(&api.ReadResp{Content: &api.ReadResp_CaughtUp_{CaughtUp: &api.ReadResp_CaughtUp{}}}); err != nil {
					return err
				}
			}
			if f != nil && !streamSub && scanned > 0 {
				if err := checkpoint(after); err != nil {
					return err
				}
			}
			select {
			case <-changed:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err := s.catchUpAll(ctx, after, head, deliver); err != nil {
			return err
		}
	}
}

// catchUpAll hands every record with a position in (after, head] to deliver, in order. More than a
// page behind, pages are read ahead on another goroutine while the current one is delivered.
func (s *streamsServer) catchUpAll(ctx context.Context, after, head uint64, deliver func(*Record) error) error {
	pos := after + 1
	pages := newPageSizer(s.pageSize)
	next := func(ctx context.Context) ([]Record, bool, error) {
		n := pages.next
		recs, err := s.log.ReadAllForwards(ctx, pos, n)
		if err != nil || len(recs) == 0 {
			return nil, false, err
		}
		pages.observe(recs)
		last := recs[len(recs)-1].Position
		pos = last + 1
		return recs, len(recs) == n && last < head, nil
	}
	if head-after <= uint64(pages.next) {
		recs, _, err := next(ctx)
		if err != nil {
			st, _ := toStatus(err)
			return st
		}
		for i := range recs {
			if err := deliver(&recs[i]); err != nil {
				return err
			}
		}
		return nil
	}
	ahead, stop := readAhead(ctx, next)
	defer stop()
	for p := range ahead {
		if p.err != nil {
			st, _ := toStatus(p.err)
			return st
		}
		for i := range p.recs {
			if err := deliver(&p.recs[i]); err != nil {
				return err
			}
		}
	}
	return nil
}
