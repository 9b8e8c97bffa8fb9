package webhook

import (
	"context"
	"log/slog"
	"time"

	"github.com/agentphone/agentphone"
)

// Poster posts deliveries to webhooks; it implements agentphone.Poster.
type Poster struct {
	Sender *Sender
}

var _ agentphone.Poster = (*Poster)(nil)

// Post makes one attempt of d to w, bounded by the webhook's timeout.
func (p *Poster) Post(ctx context.Context, w *agentphone.Webhook, d *agentphone.Delivery) agentphone.Attempt {
	r := p.Sender.Send(ctx, Request{URL: w.URL, Secret: w.Secret, ID: d.ID, Event: d.EventType, Body: d.Payload},
		time.Duration(w.Timeout)*time.Second)
	return agentphone.Attempt{
		Status: r.Status, Body: r.Body, RetryAfter: r.RetryAfter, Duration: r.Duration,
		Err: r.Err, Retryable: r.Retryable(),
	}
}

// Pruner deletes finished deliveries older than the retention from the
// delivery log, once at start and then every Interval.
type Pruner struct {
	Store interface {
		PruneDeliveries(ctx context.Context, before time.Time) (int, error)
	}
	Retention time.Duration // how long finished deliveries are kept
	Interval  time.Duration // how often to prune; 0 means hourly
	Logger    *slog.Logger
}

// Run prunes until ctx ends.
func (p *Pruner) Run(ctx context.Context) {
	every := p.Interval
	if every <= 0 {
		every = time.Hour
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := p.PruneOnce(ctx, time.Now()); err != nil {
			if ctx.Err() != nil {
				return
			}
			p.Logger.ErrorContext(ctx, "pruning the webhook delivery log failed", "err", err)
		} else if n > 0 {
			p.Logger.InfoContext(ctx, "pruned the webhook delivery log", "deleted", n, "retention", p.Retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// PruneOnce deletes the finished deliveries created before now − Retention.
func (p *Pruner) PruneOnce(ctx context.Context, now time.Time) (int, error) {
	return p.Store.PruneDeliveries(ctx, now.Add(-p.Retention))
}
