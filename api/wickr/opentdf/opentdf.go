// Package opentdf is the slice of a Wickr network's OpenTDF configuration: RegisterOpentdfConfig
// (with the model's dryRun, which checks the configuration and stores nothing) and
// GetOpentdfConfig. The configuration is decided on the network stream (package
// domain/wickr/network) and read from it.
//
// Invariants: the client secret is sealed under the network's OpenTDF key (wickr.SubjectOpenTDF)
// before it reaches an event, and no answer carries it in clear ("****"); a dry run seals nothing
// and changes nothing, and fails exactly where the registration would.
package opentdf

import (
	"context"
	"net/http"
	"strconv"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/api/wickr/wickrproto"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/wickr"
	"github.com/belfry/belfry/domain/wickr/network"
)

// Masked stands for the client secret in an answer.
const Masked = "****"

// Keys seals a secret under a subject's key (infra/datakeys implements it).
type Keys interface {
	SealFor(ctx context.Context, tenant, subject string, plaintext []byte) (domain.Sealed, error)
}

// Deps are the slice's collaborators.
type Deps struct {
	Networks usecase.Networks
	Keys     Keys
}

// Service runs the OpenTDF use cases.
type Service struct{ d Deps }

// New returns the slice.
func New(d Deps) *Service { return &Service{d: d} }

// ErrNotConfigured is a network without an OpenTDF configuration.
var ErrNotConfigured = &domain.Error{Kind: domain.KindNotFound, Msg: "OpenTDF is not configured"}

// Input is RegisterOpentdfConfig's request.
type Input struct {
	ClientID, ClientSecret, Domain, Provider string
	DryRun                                   bool
}

// state is a network of the caller as its stream holds it now.
func (s *Service) state(ctx context.Context, awsAccountID, region, networkID string) (network.State, error) {
	if err := usecase.OwnNetwork(ctx, s.d.Networks.Repo, awsAccountID, region, networkID); err != nil {
		return network.State{}, err
	}
	st, _, err := s.d.Networks.Repo.Load(ctx, network.StreamName(networkID))
	if err == nil && !st.Live() {
		err = domain.Wrapf(network.ErrNotFound, "Network %s not found", networkID)
	}
	return st, err
}

// Register checks the configuration and, unless it is a dry run, records it with its secret sealed.
func (s *Service) Register(ctx context.Context, awsAccountID, region, networkID string, in Input) (network.OpenTDFConfig, error) {
	st, err := s.state(ctx, awsAccountID, region, networkID)
	if err != nil {
		return network.OpenTDFConfig{}, err
	}
	if in.ClientSecret == "" {
		return network.OpenTDFConfig{}, wickr.Invalid("clientSecret", "is required")
	}
	cfg := network.OpenTDFConfig{ClientID: in.ClientID, Domain: in.Domain, Provider: in.Provider,
		ClientSecret: domain.Sealed{KeyID: domain.SubjectKeyID(networkID, wickr.SubjectOpenTDF), Data: []byte{0}}}
	// Every rule first, on the current state: nothing is sealed for a refused request or a dry run.
	if _, err := network.Decide(st, network.RegisterOpenTDF{NetworkID: networkID, Config: cfg, DryRun: true}, st.UpdatedAt); err != nil {
		return network.OpenTDFConfig{}, err
	}
	if in.DryRun {
		return cfg, nil
	}
	if cfg.ClientSecret, err = s.d.Keys.SealFor(ctx, networkID, wickr.SubjectOpenTDF, []byte(in.ClientSecret)); err != nil {
		return network.OpenTDFConfig{}, err
	}
	cmd := s.d.Networks.Command(network.StreamName(networkID), network.RegisterOpenTDF{NetworkID: networkID, Config: cfg}).
		After(usecase.Owner(s.d.Networks.Repo, awsAccountID, region, networkID))
	return cfg, usecase.Exec(ctx, cmd)
}

// Config returns the network's OpenTDF configuration.
func (s *Service) Config(ctx context.Context, awsAccountID, region, networkID string) (network.OpenTDFConfig, error) {
	if err := wickr.ValidNetworkID("networkId", networkID); err != nil {
		return network.OpenTDFConfig{}, err
	}
	st, err := s.state(ctx, awsAccountID, region, networkID)
	if err != nil {
		return network.OpenTDFConfig{}, err
	}
	if st.OpenTDF == nil {
		return network.OpenTDFConfig{}, domain.Wrapf(ErrNotConfigured, "network %s has no OpenTDF configuration (RegisterOpentdfConfig)", networkID)
	}
	return *st.OpenTDF, nil
}

// toWire is the model's Get/RegisterOpentdfConfigResponse, the secret masked.
func toWire(c network.OpenTDFConfig) map[string]string {
	return map[string]string{"clientId": c.ClientID, "domain": c.Domain, "clientSecret": Masked, "provider": c.Provider}
}

// Operations are the slice's route table.
func (s *Service) Operations() []awsproto.Operation {
	return []awsproto.Operation{
		{Name: "RegisterOpentdfConfig", Method: http.MethodPost, Path: "/networks/:networkId/tdf", Fn: s.register},
		{Name: "GetOpentdfConfig", Method: http.MethodGet, Path: "/networks/:networkId/tdf", ReadOnly: true, Fn: func(k *awsproto.Call) (int, any, error) {
			c, err := s.Config(k.Ctx, k.AWSAccount(), k.Region, k.Param("networkId"))
			if err != nil {
				return 0, nil, err
			}
			return http.StatusOK, toWire(c), nil
		}},
	}
}

func (s *Service) register(k *awsproto.Call) (int, any, error) {
	var in struct {
		ClientID     *string `json:"clientId"`
		ClientSecret *string `json:"clientSecret"`
		Domain       *string `json:"domain"`
		Provider     *string `json:"provider"`
	}
	id, err := wickrproto.NetworkID(k)
	if err != nil {
		return 0, nil, err
	}
	dry := false
	if v := k.Query("dryRun"); v != "" {
		if dry, err = strconv.ParseBool(v); err != nil {
			return 0, nil, wickr.Invalid("dryRun", "must be true or false, got %q", v)
		}
	}
	if err := wickrproto.Decode(k, &in); err != nil {
		return 0, nil, err
	}
	for _, r := range []struct {
		field string
		v     *string
	}{{"clientId", in.ClientID}, {"clientSecret", in.ClientSecret}, {"domain", in.Domain}, {"provider", in.Provider}} {
		if err := wickrproto.Required(r.field, r.v); err != nil {
			return 0, nil, err
		}
	}
	c, err := s.Register(k.Ctx, k.AWSAccount(), k.Region, id, Input{ClientID: *in.ClientID, ClientSecret: *in.ClientSecret, Domain: *in.Domain,
		Provider: *in.Provider, DryRun: dry})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toWire(c), nil
}
