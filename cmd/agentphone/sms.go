package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/agentphone/agentphone"
)

// newSMSCmd is `agentphone sms`: messaging tools for development.
func newSMSCmd(cfg *Config, io streams) *cobra.Command {
	sms := &cobra.Command{
		Use:   "sms",
		Short: "Messaging tools for development",
	}
	var to, from string
	var media []string
	simulate := &cobra.Command{
		Use:   "simulate [--to NUMBER] [--from PHONE] TEXT",
		Short: "Store an inbound text to one of your numbers, as if a phone had sent it",
		Long: `Store an inbound SMS (MMS with --media) to the active number --to, from --from,
in the server's database, threaded into its conversation, and queue the
agent.message webhook for it. A running server sends the webhook within about a
second (its outbox looks at the database every second for events other
processes stored). Prints the stored message's id and conversation.`,
		Example: `  agentphone sms simulate --to +15555550100 --from +15551234567 "Hi, is my order ready?"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if to == "" || from == "" {
				return fmt.Errorf("sms simulate: --to (one of your numbers) and --from (the sender's phone) are required")
			}
			ctx := cmd.Context()
			store, err := openStore(ctx, cfg)
			if err != nil {
				return err
			}
			defer store.Close()
			svc := &agentphone.MessageService{Store: store, Webhooks: &agentphone.WebhookService{Store: store}}
			m, err := svc.ReceiveAt(ctx, to, agentphone.InboundInput{From: from, Body: args[0], MediaURLs: media})
			if err != nil {
				return fmt.Errorf("sms simulate: %w", err)
			}
			_, err = fmt.Fprintf(io.Out, "%s %s → %s in %s\n", m.ID, m.From, m.To, m.ConversationID)
			return err
		},
	}
	simulate.Flags().StringVar(&to, "to", "", "one of your active numbers (E.164)")
	simulate.Flags().StringVar(&from, "from", "", "the sender's phone number")
	simulate.Flags().StringSliceVar(&media, "media", nil, "https URL of an attachment (repeatable): makes it an MMS")
	sms.AddCommand(simulate)
	return sms
}
