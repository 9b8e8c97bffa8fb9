// Package sandbox is a NumberProvider that needs no carrier account: it hands
// out fictional numbers of the North American 555-0100–0199 range, reserved
// for fiction and testing, so a new user can provision numbers in a minute.
// Later issues give sandbox numbers local message and call delivery.
package sandbox

import (
	"context"
	"fmt"
	"strings"

	"github.com/agentphone/agentphone"
)

// DefaultAreaCodes are the area codes searched when a request names none (or
// names one without free numbers), per country.
var DefaultAreaCodes = map[string][]string{
	"US": {"415", "212", "312", "206", "512", "617", "303", "305", "213", "404"},
	"CA": {"416", "604", "514", "403", "613"},
}

// Options configures a Provider. The zero value uses DefaultAreaCodes.
type Options struct {
	// AreaCodes replaces DefaultAreaCodes as the fallback pool per country.
	AreaCodes map[string][]string
	// Held reports which numbers are already held on this server, so Search
	// offers free numbers only. Nil: every number is offered.
	Held func(ctx context.Context, phones []string) (map[string]bool, error)
}

// Provider hands out sandbox numbers. It keeps no state of its own.
type Provider struct {
	areaCodes map[string][]string
	held      func(ctx context.Context, phones []string) (map[string]bool, error)
}

var _ agentphone.NumberProvider = (*Provider)(nil)

// New returns a sandbox provider.
func New(o Options) *Provider {
	ac := o.AreaCodes
	if ac == nil {
		ac = DefaultAreaCodes
	}
	return &Provider{areaCodes: ac, held: o.Held}
}

// Name implements agentphone.NumberProvider.
func (p *Provider) Name() string { return "sandbox" }

// Countries implements agentphone.NumberProvider.
func (p *Provider) Countries() []string { return []string{"US", "CA"} }

var capabilities = agentphone.Capabilities{SMS: true, MMS: true, Voice: true}

// Search offers free numbers NPA-555-0100…0199: in q.AreaCode when it is an
// area code of q.Country, else in the country's fallback area codes.
func (p *Provider) Search(ctx context.Context, q agentphone.NumberQuery) ([]agentphone.AvailableNumber, error) {
	npas := p.areaCodes[q.Country]
	if q.AreaCode != "" {
		npas = nil
		if agentphone.PhoneRegion(phone(q.AreaCode, 0)) == q.Country {
			npas = []string{q.AreaCode}
		}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 20
	}
	var out []agentphone.AvailableNumber
	for _, npa := range npas {
		batch := make([]string, 100)
		for i := range batch {
			batch[i] = phone(npa, i)
		}
		held := map[string]bool{}
		if p.held != nil {
			var err error
			if held, err = p.held(ctx, batch); err != nil {
				return nil, fmt.Errorf("sandbox: search: %w", err)
			}
		}
		for _, n := range batch {
			if held[n] {
				continue
			}
			out = append(out, agentphone.AvailableNumber{PhoneNumber: n, Country: q.Country, Capabilities: capabilities})
			if len(out) == limit {
				return out, nil
			}
		}
	}
	return out, nil
}

// phone returns +1 NPA 555 01xx.
func phone(npa string, i int) string { return fmt.Sprintf("+1%s55501%02d", npa, i) }

// Purchase implements agentphone.NumberProvider; it accepts any number of the
// sandbox range.
func (p *Provider) Purchase(ctx context.Context, n agentphone.AvailableNumber) (agentphone.ProvisionedNumber, error) {
	if len(n.PhoneNumber) != 12 || !strings.HasPrefix(n.PhoneNumber[5:], "55501") {
		return agentphone.ProvisionedNumber{}, fmt.Errorf("sandbox: %s is not a sandbox number", n.PhoneNumber)
	}
	return agentphone.ProvisionedNumber{
		PhoneNumber: n.PhoneNumber, Country: n.Country,
		ProviderRef: "sandbox:" + n.PhoneNumber, Capabilities: capabilities,
	}, nil
}

// Release implements agentphone.NumberProvider; a released sandbox number
// is free again at once.
func (p *Provider) Release(ctx context.Context, n *agentphone.Number) error { return nil }
