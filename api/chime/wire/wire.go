// Package wire holds the Chime wire shapes that more than one slice answers with (a User is answered
// by the users slice and by the client API's sign-in slice).
package wire

import (
	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/projections/chimeaccounts"
)

// Alexa is AlexaForBusinessMetadata.
type Alexa struct {
	IsAlexaForBusinessEnabled *bool   `json:"IsAlexaForBusinessEnabled,omitempty"`
	AlexaForBusinessRoomArn   *string `json:"AlexaForBusinessRoomArn,omitempty"`
}

// User is the Chime User shape (the admin API's and the client API's).
type User struct {
	UserID                   string  `json:"UserId"`
	AccountID                string  `json:"AccountId"`
	PrimaryEmail             string  `json:"PrimaryEmail"`
	DisplayName              string  `json:"DisplayName,omitempty"`
	LicenseType              string  `json:"LicenseType"`
	UserType                 string  `json:"UserType"`
	UserRegistrationStatus   string  `json:"UserRegistrationStatus"`
	PersonalPIN              string  `json:"PersonalPIN,omitempty"`
	PrimaryProvisionedNumber *string `json:"PrimaryProvisionedNumber,omitempty"`
	UserInvitationStatus     *string `json:"UserInvitationStatus,omitempty"`
	InvitedOn                *string `json:"InvitedOn,omitempty"`
	RegisteredOn             *string `json:"RegisteredOn,omitempty"`
	AlexaForBusinessMetadata *Alexa  `json:"AlexaForBusinessMetadata,omitempty"`
}

// ToUser is a read-model user on the wire.
func ToUser(u chimeaccounts.User) User {
	w := User{UserID: u.UserID, AccountID: u.AccountID, PrimaryEmail: u.Email, DisplayName: u.Username,
		LicenseType: u.LicenseType, UserType: u.UserType, UserRegistrationStatus: u.RegistrationStatus, PersonalPIN: u.PersonalPIN, PrimaryProvisionedNumber: u.PrimaryNumber}
	w.UserInvitationStatus = u.InvitationStatus
	if u.InvitedOn != nil {
		t := awsproto.Timestamp(*u.InvitedOn)
		w.InvitedOn = &t
	}
	if u.RegisteredOn != nil {
		t := awsproto.Timestamp(*u.RegisteredOn)
		w.RegisteredOn = &t
	}
	if u.AlexaEnabled != nil {
		w.AlexaForBusinessMetadata = &Alexa{IsAlexaForBusinessEnabled: u.AlexaEnabled, AlexaForBusinessRoomArn: u.AlexaRoomARN}
	}
	return w
}
