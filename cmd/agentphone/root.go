package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/agentphone/agentphone/httpapi"
	"github.com/agentphone/agentphone/postgres"
	"github.com/agentphone/agentphone/sqlite"
	"github.com/agentphone/agentphone/sqlstore"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"; a
// plain build reports the VCS revision instead.
var version = ""

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", ""
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if len(rev) > 12 {
			return "dev-" + rev[:12] + dirty
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
	}
	return "dev"
}

func newRootCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cfg := &Config{}
	std := streams{Out: stdout, Err: stderr}
	common := settings(cfg)
	root := &cobra.Command{
		Use:           "agentphone",
		Short:         "Self-hosted AgentPhone: phone numbers, calls and SMS for AI agents",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := fromEnv(cmd.Flags(), getenv, common); err != nil {
				return err
			}
			_, err := newLogger(cfg, io.Discard) // reject a bad level or format early
			return err
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	declare(root.PersistentFlags(), common)
	root.AddCommand(
		newServeCmd(cfg, getenv, std),
		newMigrateCmd(cfg, std),
		newKeysCmd(cfg, std),
		newSMSCmd(cfg, std),
		newCallCmd(getenv, std),
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				_, err := fmt.Fprintln(std.Out, "agentphone", buildVersion())
				return err
			},
		},
	)
	return root
}

// newLogger returns the process logger; every record logged with a request's
// context carries its request id.
func newLogger(cfg *Config, w io.Writer) (*slog.Logger, error) {
	level, err := parseLevel(cfg.LogLevel)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch cfg.LogFormat {
	case "text", "":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("log format %q: use text or json", cfg.LogFormat)
	}
	return slog.New(httpapi.LogHandler(h)), nil
}

// openStore opens (and migrates) the database named by cfg.DatabaseURL.
func openStore(ctx context.Context, cfg *Config) (*sqlstore.Store, error) {
	t, err := parseDatabaseURL(cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	switch t.Driver {
	case "postgres":
		return postgres.Open(ctx, t.DSN)
	default:
		return sqlite.Open(ctx, t.DSN)
	}
}
