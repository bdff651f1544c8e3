package sts

import (
	"context"
	"fmt"
	"maps"

	"github.com/credbroker/credbroker/sts/query"
)

// Handler runs one action of a Query API: it reads c.Params (already validated
// against the action's model), asks c.Authorize for every decision, acts, and returns
// the result that becomes the <ActionResult> element — a query.XMLMarshaler or a
// struct encoding/xml renders (nil: no Result element) — or an error: a *query.Error,
// an *account.Error from the store, a *policy.Error, or anything else, which the
// client sees as InternalFailure while the log gets its text.
type Handler func(ctx context.Context, c *Call) (any, error)

// Action is one action a Service serves.
type Action struct {
	Handler Handler
	// Anonymous actions may be called without a signature
	// (AssumeRoleWithWebIdentity, AssumeRoleWithSAML). A signed call is verified
	// all the same.
	Anonymous bool
	// EncodeDenials makes the action's AccessDenied messages end with an encoded
	// authorization failure message, as EC2's and other AWS services' do: the
	// decision's details, sealed, which a caller allowed sts:DecodeAuthorizationMessage
	// may read.
	EncodeDenials bool
	// Throttled actions draw on the core's request rate quota (Options.Throttle).
	Throttled bool
}

// Service is one Query API the core serves on its endpoint. Requests are routed to it
// by their SigV4 credential scope's service, which is Model.Service ("sts", "iam");
// unsigned requests go to "sts".
type Service struct {
	// Model gives the service's signing name, API version, XML namespace, the input
	// shapes that requests are validated against, and the HTTP statuses of its error
	// codes.
	Model *query.Model
	// Actions are the handlers by action name. Each must be an operation of Model.
	Actions map[string]Action
	// DenyReasons makes AccessDenied messages say why, as IAM's do ("… because no
	// identity-based policy allows the iam:CreateUser action"); without it they stop
	// after the resource, as STS's AssumeRole does.
	DenyReasons bool
}

// Register adds s to the services the core serves, or replaces the service of the
// same signing name. It may be called while the core serves requests.
func (c *Core) Register(s *Service) error {
	if s == nil || s.Model == nil {
		return fmt.Errorf("register: a service needs a model")
	}
	for name, a := range s.Actions {
		if _, ok := s.Model.Operation(name); !ok {
			return fmt.Errorf("register %s: action %s is not in the %s %s model", s.Model.Service, name, s.Model.Service, s.Model.Version)
		}
		if a.Handler == nil {
			return fmt.Errorf("register %s: action %s has no handler", s.Model.Service, name)
		}
	}
	c.regMu.Lock()
	defer c.regMu.Unlock()
	next := map[string]*Service{}
	if cur := c.services.Load(); cur != nil {
		maps.Copy(next, *cur)
	}
	cp := *s
	cp.Actions = maps.Clone(s.Actions)
	next[s.Model.Service] = &cp
	c.services.Store(&next)
	return nil
}

// service returns the registered service of signing name name.
func (c *Core) service(name string) *Service {
	m := c.services.Load()
	if m == nil {
		return nil
	}
	return (*m)[name]
}

// serviceByVersion returns the registered service whose API version is v, if any.
func (c *Core) serviceByVersion(v string) *Service {
	if m := c.services.Load(); m != nil {
		for _, s := range *m {
			if s.Model.Version == v {
				return s
			}
		}
	}
	return nil
}
