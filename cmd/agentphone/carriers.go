package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/httpapi"
	"github.com/agentphone/agentphone/sandbox"
	"github.com/agentphone/agentphone/twilio"
)

// carriers are the number providers and message carriers of a server.
type carriers struct {
	numbers agentphone.NumberProvider   // sells new numbers
	others  []agentphone.NumberProvider // release numbers bought from them before
	senders map[string]agentphone.MessageSender
	twilio  httpapi.TwilioWebhooks // nil when Twilio is not configured
}

// newCarriers builds the carriers cfg configures: the sandbox always, and
// Twilio when its account is set. publicURL is the base URL carriers reach
// this server at; messages takes what they deliver.
func newCarriers(cfg *Config, publicURL string, store agentphone.Store, messages *agentphone.MessageService, logger *slog.Logger) (*carriers, error) {
	sb := sandbox.New(sandbox.Options{Held: store.HeldPhoneNumbers})
	c := &carriers{
		numbers: sb,
		// The sandbox carrier delivers texts between this server's numbers.
		senders: map[string]agentphone.MessageSender{sb.Name(): &sandbox.Carrier{Deliver: messages.ReceiveAt}},
	}
	tw, err := newTwilio(cfg, publicURL, messages, logger)
	if err != nil {
		return nil, err
	}
	if tw != nil {
		c.senders[tw.Name()] = tw
	}
	switch p := strings.ToLower(cfg.NumberProvider); {
	case p == "" && tw != nil, p == twilio.ProviderName && tw != nil:
		c.numbers, c.others = tw, []agentphone.NumberProvider{sb}
	case p == twilio.ProviderName:
		return nil, fmt.Errorf("--number-provider twilio (AGENTPHONE_NUMBER_PROVIDER): Twilio is not configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
	case p == "", p == sb.Name():
		if tw != nil {
			c.others = []agentphone.NumberProvider{tw}
		}
	default:
		return nil, fmt.Errorf("--number-provider (AGENTPHONE_NUMBER_PROVIDER) is %q: use sandbox or twilio", cfg.NumberProvider)
	}
	if tw != nil {
		c.twilio = &twilio.Webhooks{AuthToken: cfg.TwilioAuthToken, PublicURL: publicURL, Messages: messages, Logger: logger}
		if !publicHost(publicURL) {
			logger.Warn("Twilio cannot reach this server at its public URL: set --public-url (AGENTPHONE_PUBLIC_URL) to the HTTPS URL Twilio should call; numbers bought now send their texts there",
				"public_url", publicURL)
		}
	}
	return c, nil
}

// newTwilio returns the Twilio carrier cfg configures, or nil when
// TWILIO_ACCOUNT_SID is not set.
func newTwilio(cfg *Config, publicURL string, messages *agentphone.MessageService, logger *slog.Logger) (*twilio.Provider, error) {
	if cfg.TwilioAccountSID == "" {
		if cfg.TwilioAuthToken != "" || cfg.TwilioAPIKey != "" {
			return nil, fmt.Errorf("twilio credentials are set but TWILIO_ACCOUNT_SID (--twilio-account-sid) is not")
		}
		return nil, nil
	}
	if cfg.TwilioAuthToken == "" {
		return nil, fmt.Errorf("TWILIO_AUTH_TOKEN (--twilio-auth-token) is required with TWILIO_ACCOUNT_SID: it checks the signature of Twilio's requests, even when an API key makes the REST calls")
	}
	client, err := twilio.New(twilio.Config{
		AccountSID: cfg.TwilioAccountSID, AuthToken: cfg.TwilioAuthToken,
		APIKeySID: cfg.TwilioAPIKey, APIKeySecret: cfg.TwilioAPISecret, BaseURL: cfg.TwilioBaseURL,
	})
	if err != nil {
		return nil, fmt.Errorf("twilio configuration: %w", err)
	}
	var countries []string
	for _, c := range strings.Split(cfg.TwilioCountries, ",") {
		if c = strings.ToUpper(strings.TrimSpace(c)); c != "" {
			countries = append(countries, c)
		}
	}
	if len(countries) == 0 {
		return nil, fmt.Errorf("--twilio-countries (AGENTPHONE_TWILIO_COUNTRIES) names no country")
	}
	logger.Info("Twilio configured", "account_sid", cfg.TwilioAccountSID, "api_key", cfg.TwilioAPIKey != "", "countries", countries)
	return &twilio.Provider{Client: client, PublicURL: publicURL, CountryList: countries}, nil
}

// publicHost reports whether u names a host others can reach: not
// loopback, private or link-local, nor localhost.
func publicHost(u string) bool {
	pu, err := url.Parse(u)
	if err != nil || pu.Hostname() == "" || strings.EqualFold(pu.Hostname(), "localhost") {
		return false
	}
	ip := net.ParseIP(pu.Hostname())
	return ip == nil || !(ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified())
}
