// Package agentphone holds the domain of the agentphone server: accounts and
// API keys, agents, phone numbers and webhook configuration, the rules that
// keep them valid, and the services that change them.
//
// The package imports nothing of this module. Storage (sqlite, postgres via
// sqlstore), number providers (sandbox, later carriers), the HTTP API
// (httpapi) and the binary (cmd/agentphone) all depend on it, never the other
// way round. Interfaces that the domain consumes (Store, NumberProvider,
// VoiceCatalog) are declared here and implemented by those packages.
package agentphone
