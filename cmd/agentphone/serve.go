package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/agentphone/agentphone"
	"github.com/agentphone/agentphone/hosted"
	"github.com/agentphone/agentphone/httpapi"
	"github.com/agentphone/agentphone/webhook"
)

func newServeCmd(cfg *Config, getenv func(string) string, io streams) *cobra.Command {
	ss := serveSettings(cfg)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Start the API server",
		Long: `Start the API server. On first start with an empty database it creates the
default account and prints its API key once.`,
		Args: cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			return fromEnv(cmd.Flags(), getenv, ss)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return serveRun(cmd.Context(), cfg, io)
		},
	}
	declare(cmd.Flags(), ss)
	return cmd
}

// serveRun runs the server until ctx is cancelled (SIGINT, SIGTERM), then
// lets in-flight requests finish within cfg.ShutdownTimeout.
func serveRun(ctx context.Context, cfg *Config, io streams) error {
	logger, err := newLogger(cfg, io.Err)
	if err != nil {
		return err
	}
	schedule, err := webhook.ParseSchedule(cfg.WebhookRetrySchedule)
	if err != nil {
		return fmt.Errorf("--webhook-retry-schedule (AGENTPHONE_WEBHOOK_RETRY_SCHEDULE): %w", err)
	}
	sendRetry, err := webhook.ParseSchedule(cfg.MessageRetrySchedule)
	if err != nil {
		return fmt.Errorf("--message-retry-schedule (AGENTPHONE_MESSAGE_RETRY_SCHEDULE): %w", err)
	}
	if cfg.WebhookWorkers < 1 {
		return fmt.Errorf("--webhook-workers (AGENTPHONE_WEBHOOK_WORKERS) is %d: want at least 1", cfg.WebhookWorkers)
	}
	if cfg.WebhookRescueAfter <= 0 {
		return fmt.Errorf("--webhook-rescue-after (AGENTPHONE_WEBHOOK_RESCUE_AFTER) is %s: want a positive duration, more than the largest webhook timeout (e.g. 3m)", cfg.WebhookRescueAfter)
	}
	startedAt := time.Now()
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	baseURL := cfg.PublicURL
	if baseURL == "" {
		baseURL = "http://" + ln.Addr().String()
	}
	baseURL = strings.TrimRight(baseURL, "/")

	accounts := &agentphone.AccountService{Store: store}
	key, err := bootstrap(ctx, accounts, cfg)
	if err != nil {
		ln.Close()
		return err
	}

	poster := &webhook.Poster{Sender: &webhook.Sender{
		Client:    webhook.NewHTTPClient(webhook.ClientOptions{BlockPrivate: cfg.WebhookBlockPrivate}),
		UserAgent: "agentphone/" + buildVersion(),
	}}
	// The delivery log is the outbox's queue; the store tells the outbox of
	// each delivery it queues once committed.
	outbox, err := webhook.NewOutbox(webhook.OutboxConfig{
		Store: store, Poster: poster, Schedule: schedule, Workers: cfg.WebhookWorkers,
		RescueAfter: cfg.WebhookRescueAfter, Logger: logger,
	})
	if err != nil {
		ln.Close()
		return err
	}
	store.NotifyDeliveries(outbox.Notify)
	if err := outbox.Start(ctx); err != nil {
		ln.Close()
		return err
	}
	// Runs after the HTTP server has stopped and before the store closes:
	// attempts under way get the shutdown timeout to finish; those cut
	// short are made again on the next start.
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if err := outbox.Stop(sctx); err != nil {
			logger.Warn("webhook deliveries under way were interrupted; they resume on the next start", "err", err)
		}
	}()

	// Background work stops when serve returns, before the store closes.
	var background sync.WaitGroup
	bgCtx, stopBackground := context.WithCancel(ctx)
	defer background.Wait()
	defer stopBackground()
	pruner := &webhook.Pruner{Store: store, Retention: cfg.WebhookLogRetention, Logger: logger}
	background.Go(func() { pruner.Run(bgCtx) })

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	sp, err := newSpeech(ctx, cfg, logger)
	if err != nil {
		ln.Close()
		return err
	}
	voices := sp.voices
	model, err := newLLM(cfg, logger)
	if err != nil {
		ln.Close()
		return err
	}
	hostedUnavailable := ""
	if model.model == nil {
		hostedUnavailable = msgNoLLM
	}
	webhooks := &agentphone.WebhookService{Store: store, Poster: poster}
	messages := &agentphone.MessageService{Store: store, Webhooks: webhooks, SendRetry: sendRetry, Logger: logger}
	carriers, err := newCarriers(cfg, baseURL, store, messages, logger)
	if err != nil {
		ln.Close()
		return err
	}
	messages.Senders = carriers.senders
	// The send queue retries what carriers could not take yet and sends
	// what a previous run stored but never handed over (it died first).
	background.Go(func() { messages.RunSendQueue(bgCtx, startedAt) })

	calls := &agentphone.CallService{
		Store: store, Webhooks: webhooks, Voices: voices, Logger: logger,
		MaxConcurrentCalls: cfg.MaxConcurrentCalls, HostedUnavailable: hostedUnavailable,
	}
	calls.RecordCalls = cfg.RecordCalls
	if model.model != nil { // post-call analysis (summary, sentiment) on the fastest tier
		calls.Analyzer = &hosted.Analyzer{LLM: model.model, Model: cmp.Or(model.models["turbo"], model.models["balanced"]), Log: logger}
	}
	// Calls a previous run left under way are over: end them (failed,
	// server-stopped) before any new call comes in.
	if _, err := calls.RecoverUnfinished(ctx); err != nil {
		logger.Error("ending the calls a previous run left under way failed", "err", err)
	}
	// Runs after the calls have ended (the SIP edge stops first) and before
	// the outbox and the store stop: analyses cut short are made again on
	// the next start.
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if err := calls.WaitAnalyses(sctx); err != nil {
			logger.Warn("call analyses under way did not finish; they are made on the next start", "err", err)
		}
	}()
	// The SIP edge answers and places calls; it is calls' Controller.
	conversation := newConversation(cfg, sp, model, calls, webhooks, messages, poster.Sender, reg, logger)
	sipSrv, err := startSIP(bgCtx, cfg, calls, conversation, reg, logger)
	if err != nil {
		ln.Close()
		return err
	}
	if sipSrv != nil {
		// Runs before the outbox and the store stop: calls under way are
		// hung up and their end (and agent.call_ended) recorded.
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
			defer cancel()
			if err := sipSrv.Close(sctx); err != nil {
				logger.Warn("calls under way did not end in time", "err", err)
			}
		}()
	}
	api := httpapi.New(httpapi.Options{
		Accounts: accounts,
		Agents:   &agentphone.AgentService{Store: store, Voices: voices, HostedUnavailable: hostedUnavailable},
		Numbers: &agentphone.NumberService{
			Store:                store,
			Provider:             carriers.numbers,
			Others:               carriers.others,
			Logger:               logger,
			MaxNumbersPerAccount: cfg.MaxNumbersPerAccount,
		},
		Webhooks:   webhooks,
		Contacts:   &agentphone.ContactService{Store: store},
		Messages:   messages,
		Voices:     voices,
		Usage:      &agentphone.UsageService{Store: store, MaxNumbersPerAccount: cfg.MaxNumbersPerAccount},
		Calls:      calls,
		Twilio:     carriers.twilio,
		Ready:      store.Ping,
		Logger:     logger,
		Registerer: reg,
		Gatherer:   reg,
		Version:    buildVersion(),
		// "": recordingUrl takes the host each request came to.
		PublicURL:     cfg.PublicURL,
		RecordingsDir: cfg.RecordingsDir,
		CallSayer:     conversation,
	})
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	if cfg.PprofAddr != "" {
		if _, err := startPprof(bgCtx, cfg.PprofAddr, logger); err != nil {
			ln.Close()
			return fmt.Errorf("--pprof-addr (AGENTPHONE_PPROF_ADDR): %w", err)
		}
	}
	printBanner(io.Out, baseURL, key, cfg.SIPAddr)
	logger.Info("agentphone started", "version", buildVersion(), "addr", ln.Addr().String(), "database", redactURL(cfg.DatabaseURL))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing in-flight requests", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("stopped")
	return nil
}

// bootstrap makes sure someone can use the server: on a fresh database it
// creates the default account and returns a new key for it (shown once);
// with cfg.APIKey it registers that key for the default account instead and
// returns "".
func bootstrap(ctx context.Context, accounts *agentphone.AccountService, cfg *Config) (string, error) {
	if cfg.APIKey != "" {
		acct, _, err := accounts.EnsureAccount(ctx, cfg.DefaultAccount)
		if err != nil {
			return "", fmt.Errorf("default account: %w", err)
		}
		if err := accounts.RegisterKey(ctx, acct.ID, cfg.APIKey); err != nil {
			return "", fmt.Errorf("AGENTPHONE_API_KEY: %w", err)
		}
		return "", nil
	}
	n, err := accounts.Store.CountAccounts(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	acct, _, err := accounts.EnsureAccount(ctx, cfg.DefaultAccount)
	if err != nil {
		return "", fmt.Errorf("default account: %w", err)
	}
	key, _, err := accounts.CreateKey(ctx, acct.ID, "first start")
	return key, err
}

// printBanner tells a person what to do next.
func printBanner(w io.Writer, baseURL, key, sipAddr string) {
	calls := "Phone calls: SIP is off (--sip-addr).\n"
	if sipAddr != "" {
		calls = fmt.Sprintf("Phone calls: SIP on %[1]s (UDP and TCP). Call your number from a softphone, or:\n"+
			"    sipp -sn uac -s <your number> -d 5000 -m 1 %[1]s\n"+
			"Trunks, NAT and recordings: docs/sip.md\n", sipAddr)
	}
	if key == "" {
		fmt.Fprintf(w, "agentphone is running at %s\n"+
			"  Need a key? agentphone keys create --account default\n%s", baseURL, calls)
		return
	}
	fmt.Fprintf(w, `
agentphone is running at %[1]s

Your API key (shown only this once; save it now):

    %[2]s

Try it:

    export AGENTPHONE_URL=%[1]s AGENTPHONE_KEY=%[2]s
    curl -s -X POST "$AGENTPHONE_URL/v1/agents" -H "Authorization: Bearer $AGENTPHONE_KEY" \
      -H 'Content-Type: application/json' -d '{"name": "Support Bot"}'
    curl -s -X POST "$AGENTPHONE_URL/v1/numbers" -H "Authorization: Bearer $AGENTPHONE_KEY" \
      -H 'Content-Type: application/json' -d '{"areaCode": "415"}'

The official SDKs work too: point their base URL at %[1]s.
API reference: %[1]s/openapi.json

%[3]s
`, baseURL, key, calls)
}

// redactURL hides a password in a database URL for logs.
func redactURL(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 {
		return u
	}
	userinfo := u[scheme+3 : at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return u[:scheme+3] + userinfo[:i] + ":xxxxx" + u[at:]
	}
	return u
}
