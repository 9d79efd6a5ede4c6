package eventlog_test

import (
	"context"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/belfry/belfry/infra/eventlog"
)

// TestMalformedRequests sends requests the official client never sends, with the raw generated stubs:
// each gets InvalidArgument and nothing is stored.
func TestMalformedRequests(t *testing.T) {
	e := startEnv(t, eventlog.Config{})
	c := api.NewStreamsClient(rawConn(t, e.srv, e.srv.Credentials()))
	ctx := context.Background()
	wantInvalid := func(name string, err error) {
		t.Helper()
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("%s: want InvalidArgument, got %v", name, err)
		}
	}

	// Append whose first message is an event instead of options.
	s, err := c.Append(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Send(&api.AppendReq{Content: &api.AppendReq_ProposedMessage_{ProposedMessage: &api.AppendReq_ProposedMessage{}}})
	_, err = s.CloseAndRecv()
	wantInvalid("append without options", err)

	// Append with options but no expected revision.
	s, _ = c.Append(ctx)
	_ = s.Send(&api.AppendReq{Content: &api.AppendReq_Options_{Options: &api.AppendReq_Options{
		StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte("s")}}}})
	_, err = s.CloseAndRecv()
	wantInvalid("append without expected revision", err)

	// An event with a nil id.
	s, _ = c.Append(ctx)
	_ = s.Send(&api.AppendReq{Content: &api.AppendReq_Options_{Options: &api.AppendReq_Options{
		StreamIdentifier:       &shared.StreamIdentifier{StreamName: []byte("s")},
		ExpectedStreamRevision: &api.AppendReq_Options_Any{Any: &shared.Empty{}}}}})
	_ = s.Send(&api.AppendReq{Content: &api.AppendReq_ProposedMessage_{ProposedMessage: &api.AppendReq_ProposedMessage{
		Metadata: map[string]string{"type": "x"}, Data: []byte("{}")}}})
	_, err = s.CloseAndRecv()
	wantInvalid("event without id", err)

	// Read without options, and a subscription with an invalid regex filter.
	r, _ := c.Read(ctx, &api.ReadReq{})
	_, err = r.Recv()
	wantInvalid("read without options", err)
	r, _ = c.Read(ctx, &api.ReadReq{Options: &api.ReadReq_Options{
		StreamOption: &api.ReadReq_Options_All{All: &api.ReadReq_Options_AllOptions{AllOption: &api.ReadReq_Options_AllOptions_Start{Start: &shared.Empty{}}}},
		CountOption:  &api.ReadReq_Options_Subscription{Subscription: &api.ReadReq_Options_SubscriptionOptions{}},
		FilterOption: &api.ReadReq_Options_Filter{Filter: &api.ReadReq_Options_FilterOptions{
			Filter: &api.ReadReq_Options_FilterOptions_StreamIdentifier{StreamIdentifier: &api.ReadReq_Options_FilterOptions_Expression{Regex: "(["}}}},
	}})
	_, err = r.Recv()
	wantInvalid("bad regex", err)

	// Delete without a stream name.
	_, err = c.Delete(ctx, &api.DeleteReq{Options: &api.DeleteReq_Options{ExpectedStreamRevision: &api.DeleteReq_Options_Any{Any: &shared.Empty{}}}})
	wantInvalid("delete without stream", err)

	if all := readAll(t, e.client, esdb.ReadAllOptions{From: esdb.Start{}}, 10); len(all) != 0 {
		t.Fatalf("malformed requests stored %d events", len(all))
	}
}
