package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/agentphone/agentphone/webhook"
)

func newMigrateCmd(cfg *Config, io streams) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply the database migrations (ours and the job queue's) and exit; serve also applies them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := openStore(cmd.Context(), cfg) // opening migrates
			if err != nil {
				return err
			}
			defer store.Close()
			d := store.Dialect()
			if err := webhook.MigrateOutbox(cmd.Context(), store.DB(), d.Name, d.LockMigrations); err != nil {
				return err
			}
			_, err = fmt.Fprintf(io.Err, "database is up to date: %s\n", redactURL(cfg.DatabaseURL))
			return err
		},
	}
}
