package mediabench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/belfry/belfry/infra/sfu"
	"github.com/belfry/belfry/infra/sfu/sfuclient"
)

// pair is one forwarded stream: a publisher, its subscriber, and what to close after the step.
type pair struct {
	pub, sub *sfuclient.Client
	pubID    string
	closers  []func() error
}

func (p *pair) close() {
	for _, c := range p.closers {
		_ = c()
	}
}

// recorder measures the packets sent within the window [from, to): how many arrived, and their
// forwarding delays (bounded by capacity).
type recorder struct {
	from, to atomic.Int64 // unix ns; 0: not measuring
	arrived  atomic.Int64
	mu       sync.Mutex
	delays   []time.Duration
}

func newRecorder(capacity int) *recorder {
	return &recorder{delays: make([]time.Duration, 0, capacity)}
}

func (r *recorder) onPacket(key string, payload []byte, at time.Time) {
	sent := sfuclient.SentAt(payload).UnixNano()
	if from := r.from.Load(); from == 0 || sent < from || sent >= r.to.Load() {
		return
	}
	r.arrived.Add(1)
	r.mu.Lock()
	if len(r.delays) < cap(r.delays) {
		r.delays = append(r.delays, at.Sub(time.Unix(0, sent)))
	}
	r.mu.Unlock()
}

// connector connects stream i of a step, its subscriber reporting to rec.
type connector func(i int, rec *recorder) (*pair, error)

// measure connects n streams, waits until each flows, warms up, and measures one window.
func measure(ctx context.Context, side string, n int, o Options, connect connector) Step {
	st := Step{Side: side, Streams: n}
	perStream := int(o.Window/packetInterval) + 16
	rec := newRecorder(n * perStream)
	pairs := make([]*pair, n)
	defer func() {
		for _, p := range pairs {
			if p != nil {
				p.close()
			}
		}
	}()
	sendCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	errs := make([]error, n)
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			pairs[i], errs[i] = connect(i, rec)
			if errs[i] == nil {
				go pairs[i].pub.Send(sendCtx, packetInterval, packetBytes)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		st.Error = err.Error()
		return st
	}
	if err := flowing(ctx, pairs, 30*time.Second); err != nil {
		st.Error = err.Error()
		return st
	}
	time.Sleep(time.Second) // warm-up
	sent0, from := totalSent(pairs), time.Now()
	r0 := from.Add(o.Window)
	rec.to.Store(r0.UnixNano())
	rec.from.Store(from.UnixNano())
	time.Sleep(time.Until(r0))
	sent1 := totalSent(pairs)
	time.Sleep(500 * time.Millisecond) // the window's last packets arrive
	rec.from.Store(0)
	st.Sent = sent1 - sent0
	st.Lost = max(0, st.Sent-rec.arrived.Load())
	if st.Sent > 0 {
		st.Loss = float64(st.Lost) / float64(st.Sent)
	}
	rec.mu.Lock()
	d := rec.delays
	rec.mu.Unlock()
	st.P50Ms, st.P99Ms, st.MaxMs = pct(d, 50), pct(d, 99), pct(d, 100)
	st.Met = st.Loss < TargetLoss && st.P99Ms < TargetP99Ms && st.Sent > 0
	return st
}

func totalSent(pairs []*pair) int64 {
	var n int64
	for _, p := range pairs {
		n += p.pub.Sent()
	}
	return n
}

// flowing waits until every subscriber received its publisher's video.
func flowing(ctx context.Context, pairs []*pair, within time.Duration) error {
	deadline := time.Now().Add(within)
	for _, p := range pairs {
		for p.sub.Received(p.pubID, "video") == 0 {
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("stream %s did not flow within %s", p.pubID, within)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

// forwardSFU measures n streams through the SFU, one room per publisher and subscriber.
func forwardSFU(ctx context.Context, n int, o Options) Step {
	s, err := sfu.New(sfu.Config{Loopback: true, Logger: quiet})
	if err != nil {
		return Step{Side: "sfu", Streams: n, Error: err.Error()}
	}
	defer s.Close()
	st := measure(ctx, "sfu", n, o, func(i int, rec *recorder) (*pair, error) {
		room, id := fmt.Sprintf("room-%d", i), fmt.Sprintf("pub-%d", i)
		pub, err := joinSFU(s, room, id, sfuclient.Options{NoAudio: true})
		if err != nil {
			return nil, err
		}
		p := &pair{pub: pub, pubID: id, closers: []func() error{pub.Close}}
		if p.sub, err = joinSFU(s, room, fmt.Sprintf("sub-%d", i), sfuclient.Options{NoAudio: true, OnPacket: rec.onPacket}); err != nil {
			p.close()
			return nil, err
		}
		p.closers = append(p.closers, p.sub.Close)
		return p, nil
	})
	st.Dropped = s.Stats().Dropped
	return st
}

// quiet is the SFU's logger here: the teardown of a step's connections is not news.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// sfuPeer connects one sfuclient to the SFU in this process.
type sfuPeer struct {
	c     *sfuclient.Client
	p     *sfu.Participant
	ready chan struct{}
}

func (x *sfuPeer) Offer(sdp string) {
	go func() {
		<-x.ready
		if ans, err := x.c.Answer(sdp); err == nil {
			_ = x.p.Answer(ans)
		}
	}()
}
func (x *sfuPeer) Candidate(b []byte)        { _ = x.c.AddCandidate(b) }
func (x *sfuPeer) MediaStarted(string) error { return nil }
func (x *sfuPeer) MediaStopped(string)       {}
func (x *sfuPeer) Closed(string)             {}

func joinSFU(s *sfu.SFU, room, id string, o sfuclient.Options) (*sfuclient.Client, error) {
	x := &sfuPeer{ready: make(chan struct{})}
	var err error
	if x.c, err = sfuclient.NewWith(func(b []byte) { <-x.ready; _ = x.p.AddCandidate(b) }, o); err != nil {
		return nil, err
	}
	if x.p, err = s.Join(room, id, x); err != nil {
		_ = x.c.Close()
		return nil, err
	}
	close(x.ready)
	return x.c, nil
}

// forwardFloor measures n streams through the bare relay.
func forwardFloor(ctx context.Context, n int, o Options) Step {
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se))
	return measure(ctx, "floor", n, o, func(i int, rec *recorder) (*pair, error) {
		id := fmt.Sprintf("pub-%d", i)
		return relay(api, id, rec)
	})
}

// relay is the floor's forwarding: a connection receives the publisher's video and writes every
// packet as it is read into a TrackLocalStaticRTP of the subscriber's connection.
func relay(api *webrtc.API, id string, rec *recorder) (*pair, error) {
	p := &pair{pubID: id}
	in, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	p.closers = append(p.closers, in.Close)
	out, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		p.close()
		return nil, err
	}
	p.closers = append(p.closers, out.Close)
	local, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, id+"-video", id)
	if err != nil {
		p.close()
		return nil, err
	}
	sender, err := out.AddTrack(local)
	if err != nil {
		p.close()
		return nil, err
	}
	go drainRTCP(sender)
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := in.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			p.close()
			return nil, err
		}
	}
	in.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			pkt, _, err := t.ReadRTP()
			if err != nil {
				return
			}
			if t.Kind() == webrtc.RTPCodecTypeVideo {
				_ = local.WriteRTP(pkt)
			}
		}
	})
	if p.pub, err = offerTo(in, sfuclient.Options{NoAudio: true}); err == nil {
		p.closers = append(p.closers, p.pub.Close)
		if p.sub, err = offerTo(out, sfuclient.Options{NoAudio: true, OnPacket: rec.onPacket}); err == nil {
			p.closers = append(p.closers, p.sub.Close)
		}
	}
	if err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func drainRTCP(s *webrtc.RTPSender) {
	for {
		if _, _, err := s.ReadRTCP(); err != nil {
			return
		}
	}
}

// offerTo connects a new client to pc, pc offering, with trickle ICE both ways.
func offerTo(pc *webrtc.PeerConnection, o sfuclient.Options) (*sfuclient.Client, error) {
	ready := make(chan struct{})
	c, err := sfuclient.NewWith(func(b []byte) {
		<-ready
		var ic webrtc.ICECandidateInit
		if json.Unmarshal(b, &ic) == nil {
			_ = pc.AddICECandidate(ic)
		}
	}, o)
	if err != nil {
		return nil, err
	}
	pc.OnICECandidate(func(ic *webrtc.ICECandidate) {
		if ic != nil {
			if b, err := json.Marshal(ic.ToJSON()); err == nil {
				_ = c.AddCandidate(b)
			}
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err == nil {
		err = pc.SetLocalDescription(offer)
	}
	var ans string
	if err == nil {
		ans, err = c.Answer(offer.SDP)
	}
	if err == nil {
		err = pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans})
	}
	close(ready)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}
