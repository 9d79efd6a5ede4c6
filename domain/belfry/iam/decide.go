package iam

import (
	"time"

	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/iampolicy"
)

// Decide turns a command into events, or refuses it.
func Decide(s State, c Command, now time.Time) ([]Event, error) {
	now = now.UTC()
	switch c := c.(type) {
	case CreateAccessKey:
		return decideCreateKey(s, c, now)
	case SetKeyStatus:
		k, err := liveKey(s, c.AccessKeyID)
		if err != nil {
			return nil, err
		}
		if k.Active == c.Active {
			return nil, nil
		}
		return []Event{AccessKeyStatusChanged{AccessKeyID: c.AccessKeyID, Active: c.Active, At: now}}, nil
	case DeleteAccessKey:
		k, err := liveKey(s, c.AccessKeyID)
		if err != nil {
			return nil, err
		}
		return []Event{AccessKeyDeleted{AccessKeyID: c.AccessKeyID, Principal: k.Principal, At: now}}, nil
	case AttachManagedPolicy:
		if _, ok := iampolicy.Managed(c.PolicyName); !ok {
			return nil, domain.Errorf(domain.KindInvalid, "unknown managed policy %q (known: %v)", c.PolicyName, iampolicy.ManagedNames())
		}
		return attach(s, PolicyAttached{Principal: c.Principal, PolicyName: c.PolicyName, Managed: true, At: now})
	case PutInlinePolicy:
		if !validPolicyNm.MatchString(c.PolicyName) {
			return nil, domain.Errorf(domain.KindInvalid, "policy name %q must be 1-128 characters of [A-Za-z0-9+=,.@_-]", c.PolicyName)
		}
		if _, ok := iampolicy.Managed(c.PolicyName); ok {
			return nil, domain.Errorf(domain.KindInvalid, "%q is the name of a managed policy", c.PolicyName)
		}
		if err := c.Document.Validate(); err != nil {
			return nil, domain.Errorf(domain.KindInvalid, "policy %s: %v", c.PolicyName, err)
		}
		if err := inlineRoom(s, c); err != nil {
			return nil, err
		}
		doc := c.Document
		return attach(s, PolicyAttached{Principal: c.Principal, PolicyName: c.PolicyName, Document: &doc, At: now})
	case DetachPolicy:
		p, ok := s.Principals[c.Principal]
		if !ok {
			return nil, domain.Wrapf(ErrNoPrincipal, "no principal %q", c.Principal)
		}
		if _, ok := p.Policies[c.PolicyName]; !ok {
			return nil, domain.Errorf(domain.KindNotFound, "%s has no policy %s", c.Principal, c.PolicyName)
		}
		return []Event{PolicyDetached{Principal: c.Principal, PolicyName: c.PolicyName, At: now}}, nil
	case Import:
		return decideImport(s, c)
	}
	return nil, domain.Errorf(domain.KindInvalid, "iam: unknown command %T", c)
}

func liveKey(s State, id string) (*Key, error) {
	k, ok := s.Keys[id]
	if !ok || k.Deleted {
		return nil, domain.Wrapf(ErrUnknownKey, "no access key %s", id)
	}
	return k, nil
}

func attach(s State, e PolicyAttached) ([]Event, error) {
	p, ok := s.Principals[e.Principal]
	if !ok {
		return nil, domain.Wrapf(ErrNoPrincipal, "no principal %q", e.Principal)
	}
	if old, ok := p.Policies[e.PolicyName]; ok && old.Managed && e.Managed {
		return nil, nil // already attached
	}
	return []Event{e}, nil
}

func checkName(name string) error {
	if !validName.MatchString(name) {
		return domain.Errorf(domain.KindInvalid, "principal name %q must be 1-64 characters of [A-Za-z0-9+=,.@_-]", name)
	}
	return nil
}

func checkKey(s State, id string, secret domain.Sealed) error {
	if !validKeyID.MatchString(id) {
		return domain.Errorf(domain.KindInvalid, "access key id %q must be AKIA and 16 characters of [A-Z2-7]", id)
	}
	if _, dup := s.Keys[id]; dup {
		return domain.Errorf(domain.KindConflict, "access key id %s exists", id)
	}
	if want := domain.SubjectKeyID(Tenant, KeySubject(id)); len(secret.Data) == 0 || secret.KeyID != want {
		return domain.Errorf(domain.KindInvalid, "the secret of %s must be sealed under key %s, got key %q", id, want, secret.KeyID)
	}
	return nil
}

func decideCreateKey(s State, c CreateAccessKey, now time.Time) ([]Event, error) {
	if c.OnlyIfFirst && len(s.Keys) > 0 {
		return nil, nil
	}
	if err := checkName(c.Principal); err != nil {
		return nil, err
	}
	if err := checkKey(s, c.AccessKeyID, c.Secret); err != nil {
		return nil, err
	}
	var out []Event
	if _, ok := s.Principals[c.Principal]; !ok {
		if !validPrinID.MatchString(c.PrincipalID) {
			return nil, domain.Errorf(domain.KindInvalid, "principal id %q must be AIDA and 16 characters of [A-Z2-7]", c.PrincipalID)
		}
		for _, p := range s.Principals {
			if p.PrincipalID == c.PrincipalID {
				return nil, domain.Errorf(domain.KindConflict, "principal id %s exists", c.PrincipalID)
			}
		}
		out = append(out, PrincipalCreated{Name: c.Principal, PrincipalID: c.PrincipalID, At: now})
	}
	out = append(out, AccessKeyCreated{AccessKeyID: c.AccessKeyID, Principal: c.Principal, Secret: c.Secret, At: now})
	attached := map[string]bool{}
	if p := s.Principals[c.Principal]; p != nil {
		for n := range p.Policies {
			attached[n] = true
		}
	}
	for _, name := range c.ManagedPolicies {
		if _, ok := iampolicy.Managed(name); !ok {
			return nil, domain.Errorf(domain.KindInvalid, "unknown managed policy %q (known: %v)", name, iampolicy.ManagedNames())
		}
		if !attached[name] {
			attached[name] = true
			out = append(out, PolicyAttached{Principal: c.Principal, PolicyName: name, Managed: true, At: now})
		}
	}
	return out, nil
}

// decideImport takes over the old tables into an empty stream; on a stream with events it does
// nothing (the import already happened).
func decideImport(s State, c Import) ([]Event, error) {
	if len(s.Principals) > 0 || len(s.Keys) > 0 {
		return nil, nil
	}
	var out []Event
	ids := map[string]bool{}
	for _, p := range c.Principals {
		// Names are taken as the old tables hold them (the old rule was looser than checkName).
		if p.Name == "" || !validPrinID.MatchString(p.PrincipalID) || ids[p.PrincipalID] {
			return nil, domain.Errorf(domain.KindInvalid, "principal %s: bad or repeated principal id %q", p.Name, p.PrincipalID)
		}
		ids[p.PrincipalID] = true
		out = append(out, PrincipalCreated{Name: p.Name, PrincipalID: p.PrincipalID, At: p.CreatedAt.UTC(), Imported: true})
		for _, k := range p.Keys {
			if err := checkKey(s, k.AccessKeyID, k.Secret); err != nil || ids[k.AccessKeyID] {
				return nil, domain.Errorf(domain.KindInvalid, "principal %s: key %s: %v", p.Name, k.AccessKeyID, err)
			}
			ids[k.AccessKeyID] = true
			out = append(out, AccessKeyCreated{AccessKeyID: k.AccessKeyID, Principal: p.Name, Secret: k.Secret, At: k.CreatedAt.UTC(), Imported: true})
			if !k.Active {
				out = append(out, AccessKeyStatusChanged{AccessKeyID: k.AccessKeyID, At: k.CreatedAt.UTC()})
			}
		}
		for _, pol := range p.Policies {
			pol.Principal = p.Name
			out = append(out, pol)
		}
	}
	return out, nil
}

// ValidKeyID checks the shape of an access key id.
func ValidKeyID(id string) error {
	if !validKeyID.MatchString(id) {
		return domain.Errorf(domain.KindInvalid, "access key id %q must be AKIA and 16 characters of [A-Z2-7]", id)
	}
	return nil
}

// InlineChars is the size of an inline policy as IAM counts it: the characters of the document's
// shortest JSON text — no white space, a lone statement, action or resource written alone rather
// than in a list, no escape JSON does not require. It is never more than iampolicy.Parse counted of
// any text that reads as d, so a document Parse accepts fits a principal without other policies.
func InlineChars(d iampolicy.Document) int {
	n := len(`{"Version":,"Statement":}`) + jsonChars(d.Version)
	if len(d.Statement) != 1 {
		n += len(`[]`) + max(len(d.Statement)-1, 0) // brackets and commas
	}
	for _, st := range d.Statement {
		members := []int{len(`"Effect":`) + jsonChars(st.Effect)}
		if st.Sid != "" {
			members = append(members, len(`"Sid":`)+jsonChars(st.Sid))
		}
		for name, l := range map[string]iampolicy.StringOrList{"Action": st.Action, "NotAction": st.NotAction, "Resource": st.Resource} {
			if len(l) > 0 {
				members = append(members, len(name)+len(`"":`)+listChars(l))
			}
		}
		n += len(`{}`) + len(members) - 1 // braces and commas
		for _, m := range members {
			n += m
		}
	}
	return n
}

// listChars is the characters of a StringOrList's shortest JSON: a lone string alone.
func listChars(l iampolicy.StringOrList) int {
	if len(l) == 1 {
		return jsonChars(l[0])
	}
	n := len(`[]`) + max(len(l)-1, 0)
	for _, s := range l {
		n += jsonChars(s)
	}
	return n
}

// jsonChars is the characters of s as a JSON string with only the escapes JSON requires.
func jsonChars(s string) int {
	n := len(`""`)
	for _, r := range s {
		switch {
		case r == '"' || r == '\\' || r == '\b' || r == '\f' || r == '\n' || r == '\r' || r == '\t':
			n += 2
		case r < 0x20:
			n += len(`\u0000`)
		default:
			n++
		}
	}
	return n
}

// inlineRoom refuses an inline policy that would take its principal's inline policies past
// iampolicy.MaxDocumentChars together, as IAM bounds a user's: the policy it replaces, if any, does
// not count. The bound keeps a principal's policies, and so every evaluation, small.
func inlineRoom(s State, c PutInlinePolicy) error {
	total := InlineChars(c.Document)
	if p, ok := s.Principals[c.Principal]; ok {
		for name, pol := range p.Policies {
			if name != c.PolicyName && pol.Document != nil {
				total += InlineChars(*pol.Document)
			}
		}
	}
	if total > iampolicy.MaxDocumentChars {
		return domain.Errorf(domain.KindInvalid, "policy %s: %s's inline policies would hold %d characters together (white space not counted), over the limit of %d; detach one or shorten them",
			c.PolicyName, c.Principal, total, iampolicy.MaxDocumentChars)
	}
	return nil
}
