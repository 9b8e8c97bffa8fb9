package httpapi

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentphone/agentphone"
)

// Options configures a Server. The services and Voices are required.
type Options struct {
	Accounts *agentphone.AccountService
	Agents   *agentphone.AgentService
	Numbers  *agentphone.NumberService
	Webhooks *agentphone.WebhookService
	Contacts *agentphone.ContactService
	Messages *agentphone.MessageService
	Voices   agentphone.VoiceCatalog
	Usage    *agentphone.UsageService
	Calls    *agentphone.CallService
	// Twilio serves Twilio's webhooks; nil when Twilio is not configured.
	Twilio TwilioWebhooks
	// CallSayer injects utterances into live calls for
	// POST /sandbox/v1/calls/{call_id}/say: the conversation engine. Nil:
	// that route answers 501.
	CallSayer CallSayer

	// Ready reports whether the server can serve traffic (GET /readyz), e.g.
	// that the database answers. Nil: always ready.
	Ready func(ctx context.Context) error
	// Logger receives one access line per request and the errors behind 500s.
	// It is wrapped in LogHandler unless it already is. Nil: discard.
	Logger *slog.Logger
	// Registerer receives the HTTP metrics. Nil: no metrics are registered.
	Registerer prometheus.Registerer
	// Gatherer is served on GET /metrics. Nil: Registerer when it is also a
	// Gatherer (a *prometheus.Registry), else an empty registry.
	Gatherer prometheus.Gatherer
	// Version is the server version shown in the OpenAPI document.
	Version string
	// PublicURL is the base URL clients reach the server at, for the
	// recordingUrl of calls. "": the scheme and host of each request.
	PublicURL string
	// RecordingsDir is the folder of call recordings (Call.RecordingPath is
	// relative to it). "": no recording can be downloaded.
	RecordingsDir string
	// Heartbeat is how often a live transcript stream writes a comment to
	// keep proxies from closing it; 0: DefaultHeartbeat (15 s).
	Heartbeat time.Duration
}

// Server is the REST API as an http.Handler. It is safe for concurrent use.
type Server struct {
	mux      *http.ServeMux
	routes   []string // patterns registered on mux, in order
	logger   *slog.Logger
	metrics  *metrics
	accounts *agentphone.AccountService
	agents   *agentphone.AgentService
	numbers  *agentphone.NumberService
	webhooks *agentphone.WebhookService
	contacts *agentphone.ContactService
	messages *agentphone.MessageService
	voices   agentphone.VoiceCatalog
	usage    *agentphone.UsageService
	calls    *agentphone.CallService
	sayer    CallSayer // nil: no conversation engine
	ready    func(ctx context.Context) error
	gatherer prometheus.Gatherer
	openapi  []byte    // the OpenAPI document with this server's version
	bufs     sync.Pool // of *bytes.Buffer, for response encoding

	// publicURL (no trailing slash), recordingsDir and heartbeat: see
	// Options.
	publicURL     string
	recordingsDir string
	heartbeat     time.Duration
}

// New returns a Server over the services of o. It panics when a required
// service is missing, which is a wiring mistake.
func New(o Options) *Server {
	if o.Accounts == nil || o.Agents == nil || o.Numbers == nil || o.Webhooks == nil || o.Contacts == nil || o.Messages == nil ||
		o.Voices == nil || o.Usage == nil || o.Calls == nil {
		panic("httpapi: Options.Accounts, Agents, Numbers, Webhooks, Contacts, Messages, Voices, Usage and Calls are required")
	}
	heartbeat := o.Heartbeat
	if heartbeat <= 0 {
		heartbeat = DefaultHeartbeat
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if _, ok := logger.Handler().(*ctxHandler); !ok {
		logger = slog.New(LogHandler(logger.Handler()))
	}
	gatherer := o.Gatherer
	if gatherer == nil {
		if g, ok := o.Registerer.(prometheus.Gatherer); ok {
			gatherer = g
		} else {
			gatherer = prometheus.NewRegistry()
		}
	}
	s := &Server{
		mux:      http.NewServeMux(),
		logger:   logger,
		metrics:  newMetrics(o.Registerer),
		accounts: o.Accounts,
		agents:   o.Agents,
		numbers:  o.Numbers,
		webhooks: o.Webhooks,
		contacts: o.Contacts,
		messages: o.Messages,
		voices:   o.Voices,
		usage:    o.Usage,
		calls:    o.Calls,
		sayer:    o.CallSayer,
		ready:    o.Ready,
		gatherer: gatherer,
		openapi:  openAPIDocument(o.Version),
		bufs:     sync.Pool{New: func() any { return new(bytes.Buffer) }},

		publicURL:     strings.TrimRight(o.PublicURL, "/"),
		recordingsDir: o.RecordingsDir,
		heartbeat:     heartbeat,
	}
	// Build the decoding plans now: an unsupported input type panics at
	// start, not in a request.
	for _, t := range inputTypes {
		planFor(t)
	}
	s.registerRoutes()
	s.registerCarriers(o.Twilio)
	return s
}

// inputTypes are the request bodies this server decodes.
var inputTypes = []reflect.Type{
	reflect.TypeFor[agentphone.AgentInput](),
	reflect.TypeFor[agentphone.NumberInput](),
	reflect.TypeFor[agentphone.WebhookInput](),
	reflect.TypeFor[agentphone.SubAccountInput](),
	reflect.TypeFor[attachNumberInput](),
	reflect.TypeFor[webhookTestInput](),
	reflect.TypeFor[agentphone.EmitInput](),
	reflect.TypeFor[agentphone.ConversationInput](),
	reflect.TypeFor[agentphone.SendInput](),
	reflect.TypeFor[reactionInput](),
	reflect.TypeFor[backgroundInput](),
	reflect.TypeFor[contactCardInput](),
	reflect.TypeFor[sandboxInboundInput](),
	reflect.TypeFor[sayInput](),
	reflect.TypeFor[agentphone.ContactInput](),
	reflect.TypeFor[agentphone.CallInput](),
	reflect.TypeFor[agentphone.SettingsInput](),
}

// registerRoutes is the route table (spec §1.11). Literal segments win over
// parameters by ServeMux precedence (/v1/agents/voices over
// /v1/agents/{agent_id}). Every route here is described in openapi.json, and
// a test keeps the two equal.
func (s *Server) registerRoutes() {
	s.handle("GET /healthz", http.HandlerFunc(s.healthz))
	s.handle("GET /readyz", http.HandlerFunc(s.readyz))
	s.handle("GET /metrics", s.metricsHandler())
	s.handle("GET /openapi.json", http.HandlerFunc(s.openAPI))

	s.v1("GET /v1/agents/voices", s.listVoices)
	s.v1("GET /v1/agents", s.listAgents)
	s.v1("POST /v1/agents", s.createAgent)
	s.v1("GET /v1/agents/{agent_id}", s.getAgent)
	s.v1("PATCH /v1/agents/{agent_id}", s.updateAgent)
	s.v1("DELETE /v1/agents/{agent_id}", s.deleteAgent)
	s.v1("POST /v1/agents/{agent_id}/numbers", s.attachNumber)
	s.v1("DELETE /v1/agents/{agent_id}/numbers/{number_id}", s.detachNumber)
	s.v1("GET /v1/agents/{agent_id}/conversations", s.listAgentConversations)
	s.v1("GET /v1/agents/{agent_id}/calls", s.listAgentCalls)
	s.v1("GET /v1/agents/{agent_id}/webhook", s.getAgentWebhook)
	s.v1("POST /v1/agents/{agent_id}/webhook", s.upsertAgentWebhook)
	s.v1("DELETE /v1/agents/{agent_id}/webhook", s.deleteAgentWebhook)
	s.v1("GET /v1/agents/{agent_id}/webhook/deliveries", s.listAgentDeliveries)
	s.v1("POST /v1/agents/{agent_id}/webhook/test", s.testAgentWebhook)

	s.v1("GET /v1/numbers", s.listNumbers)
	s.v1("POST /v1/numbers", s.createNumber)
	s.v1("GET /v1/numbers/{number_id}", s.getNumber)
	s.v1("DELETE /v1/numbers/{number_id}", s.releaseNumber)
	s.v1("GET /v1/numbers/{number_id}/messages", s.listNumberMessages)
	s.v1("GET /v1/numbers/{number_id}/calls", s.listNumberCalls)
	s.v1("GET /v1/numbers/{number_id}/contact-card", s.getContactCard)
	s.v1("PUT /v1/numbers/{number_id}/contact-card", s.putContactCard)
	s.v1("DELETE /v1/numbers/{number_id}/contact-card", s.deleteContactCard)

	s.v1("POST /v1/messages", s.sendMessage)
	s.v1("POST /v1/messages/{message_id}/reactions", s.reactToMessage)

	s.v1("GET /v1/conversations", s.listConversations)
	s.v1("GET /v1/conversations/{conversation_id}", s.getConversation)
	s.v1("PATCH /v1/conversations/{conversation_id}", s.updateConversation)
	s.v1("GET /v1/conversations/{conversation_id}/messages", s.listConversationMessages)
	s.v1("POST /v1/conversations/{conversation_id}/typing", s.sendTyping)
	s.v1("POST /v1/conversations/{conversation_id}/background", s.setBackground)
	s.v1("DELETE /v1/conversations/{conversation_id}/background", s.deleteBackground)

	s.v1("GET /v1/contacts/capabilities", s.contactCapabilities)
	s.v1("GET /v1/contacts", s.listContacts)
	s.v1("POST /v1/contacts", s.createContact)
	s.v1("GET /v1/contacts/{contact_id}", s.getContact)
	s.v1("PATCH /v1/contacts/{contact_id}", s.updateContact)
	s.v1("DELETE /v1/contacts/{contact_id}", s.deleteContact)

	s.v1("GET /v1/calls", s.listCalls)
	s.v1("POST /v1/calls", s.createCall)
	s.v1("GET /v1/calls/{call_id}", s.getCall)
	s.v1("POST /v1/calls/{call_id}/end", s.endCall)
	// Public: the call id is the access token (spec §1.2, §8.8).
	s.handle("GET /v1/calls/{call_id}/recording", http.HandlerFunc(s.getRecording))
	s.v1("GET /v1/calls/{call_id}/transcript", s.getTranscript)
	s.v1("GET /v1/calls/{call_id}/transcript/stream", s.streamTranscript)

	s.v1("GET /v1/usage", s.usageSummary)
	s.v1("GET /v1/usage/daily", s.usageDaily)
	s.v1("GET /v1/usage/monthly", s.usageMonthly)
	s.v1("GET /v1/usage/by-number", s.usageByNumber)
	s.v1("GET /v1/usage/by-agent", s.usageByAgent)

	s.v1("GET /v1/webhooks", s.getWebhook)
	s.v1("POST /v1/webhooks", s.upsertWebhook)
	s.v1("DELETE /v1/webhooks", s.deleteWebhook)
	s.v1("GET /v1/webhooks/deliveries", s.listDeliveries)
	s.v1("GET /v1/webhooks/deliveries/stats", s.deliveryStats)
	s.v1("GET /v1/webhooks/deliveries/all-time", s.deliveryAllTime)
	s.v1("POST /v1/webhooks/test", s.testWebhook)

	// Our additions (sandbox.go), outside the AgentPhone API.
	s.v1("POST /sandbox/v1/webhooks/emit", s.emitEvent)
	s.v1("POST /sandbox/v1/numbers/{number_id}/inbound", s.receiveSandboxMessage)
	s.v1("POST /sandbox/v1/calls/{call_id}/say", s.sayOnCall)
	// Our additions (call.go): this server's per-account settings.
	s.v1("GET /agentphone/v1/settings", s.getSettings)
	s.v1("PATCH /agentphone/v1/settings", s.updateSettings)

	// Sub-accounts always act on the key's own account: X-Sub-Account-Id is
	// ignored on them (a sub-account cannot have sub-accounts).
	s.v1Key("GET /v1/sub-accounts", s.listSubAccounts)
	s.v1Key("POST /v1/sub-accounts", s.createSubAccount)
	s.v1Key("PATCH /v1/sub-accounts/{sub_account_id}", s.renameSubAccount)
	s.v1Key("DELETE /v1/sub-accounts/{sub_account_id}", s.deleteSubAccount)
}

// handlerFunc is an authenticated API handler. A returned error is written
// by writeError; a handler that returns nil has written its response.
type handlerFunc func(w http.ResponseWriter, r *http.Request, sc agentphone.Scope) error

// handle registers h for pattern, behind the body limit.
func (s *Server) handle(pattern string, h http.Handler) {
	s.routes = append(s.routes, pattern)
	s.mux.Handle(pattern, limitBody(h, s))
}

// v1 registers an authenticated route that honours X-Sub-Account-Id.
func (s *Server) v1(pattern string, h handlerFunc) { s.handle(pattern, s.authed(h, true)) }

// v1Key registers an authenticated route that acts on the key's own
// account whatever X-Sub-Account-Id says.
func (s *Server) v1Key(pattern string, h handlerFunc) { s.handle(pattern, s.authed(h, false)) }

// routeLabel returns the path of a ServeMux pattern ("GET /v1/agents" →
// "/v1/agents"), or "unmatched".
func routeLabel(pattern string) string {
	if pattern == "" {
		return "unmatched"
	}
	if _, path, ok := strings.Cut(pattern, " "); ok {
		return path
	}
	return pattern
}
