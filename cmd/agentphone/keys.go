package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/agentphone/agentphone"
)

func newKeysCmd(cfg *Config, io streams) *cobra.Command {
	keys := &cobra.Command{
		Use:   "keys",
		Short: "Create, list and revoke API keys",
	}
	var account, name string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an API key and print it (once) on stdout",
		Long: `Create an API key for an account and print it, alone, on stdout, so that
scripts can capture it: KEY=$(agentphone keys create --account acme).
The account is created when it does not exist yet.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withAccounts(cmd.Context(), cfg, func(ctx context.Context, s *agentphone.AccountService) error {
				acct, created, err := s.EnsureAccount(ctx, account)
				if err != nil {
					return err
				}
				if created {
					fmt.Fprintf(io.Err, "created account %q (%s)\n", acct.Name, acct.ID)
				}
				key, rec, err := s.CreateKey(ctx, acct.ID, name)
				if err != nil {
					return err
				}
				fmt.Fprintf(io.Err, "created key %s for account %q; it is shown only now\n", rec.ID, acct.Name)
				_, err = fmt.Fprintln(io.Out, key)
				return err
			})
		},
	}
	create.Flags().StringVar(&account, "account", "default", "account name")
	create.Flags().StringVar(&name, "name", "", "a label for the key")

	var listAccount string
	list := &cobra.Command{
		Use:   "list",
		Short: "List API keys (never the keys themselves)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withAccounts(cmd.Context(), cfg, func(ctx context.Context, s *agentphone.AccountService) error {
				accountID := ""
				if listAccount != "" {
					acct, err := s.Store.AccountByName(ctx, listAccount)
					if err != nil {
						return fmt.Errorf("account %q: %w", listAccount, err)
					}
					accountID = acct.ID
				}
				ks, err := s.Store.ListAPIKeys(ctx, accountID)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(io.Out, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tACCOUNT\tPREFIX\tNAME\tCREATED\tREVOKED")
				for _, k := range ks {
					revoked := "-"
					if k.RevokedAt != nil {
						revoked = k.RevokedAt.Format(time.RFC3339)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\t%s\t%s\n", k.ID, k.AccountID, k.Prefix, k.Name, k.CreatedAt.Format(time.RFC3339), revoked)
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&listAccount, "account", "", "only this account's keys (default: all)")

	revoke := &cobra.Command{
		Use:   "revoke KEY_ID",
		Short: "Revoke an API key; requests with it get 401 from then on",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withAccounts(cmd.Context(), cfg, func(ctx context.Context, s *agentphone.AccountService) error {
				k, err := s.Store.RevokeAPIKey(ctx, args[0], agentphone.Now())
				if err != nil {
					return fmt.Errorf("revoke %s: %w", args[0], err)
				}
				_, err = fmt.Fprintf(io.Err, "revoked key %s (%s…)\n", k.ID, k.Prefix)
				return err
			})
		},
	}
	keys.AddCommand(create, list, revoke)
	return keys
}

// withAccounts opens the store for one command.
func withAccounts(ctx context.Context, cfg *Config, fn func(context.Context, *agentphone.AccountService) error) error {
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	return fn(ctx, &agentphone.AccountService{Store: store})
}
