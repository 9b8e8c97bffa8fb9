package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newMigrateCmd(cfg *Config, io streams) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply the database migrations and exit; serve also applies them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := openStore(cmd.Context(), cfg) // opening migrates
			if err != nil {
				return err
			}
			defer store.Close()
			_, err = fmt.Fprintf(io.Err, "database is up to date: %s\n", redactURL(cfg.DatabaseURL))
			return err
		},
	}
}
