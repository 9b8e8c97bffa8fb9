package httpapi

import (
	"context"
	"log/slog"
)

// LogHandler wraps h so that every record logged with the context of an API
// request carries that request's id as the attribute "request_id". Records
// logged without such a context pass through unchanged.
//
// The attribute joins the record's own attributes, so it lands inside any
// group opened with WithGroup.
func LogHandler(h slog.Handler) slog.Handler { return &ctxHandler{h: h} }

type ctxHandler struct{ h slog.Handler }

func (c *ctxHandler) Enabled(ctx context.Context, l slog.Level) bool { return c.h.Enabled(ctx, l) }

func (c *ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if id := RequestID(ctx); id != "" {
			// Clone: the record may be shared with other handlers, and
			// adding to a shared record corrupts it (see slog.Record).
			r = r.Clone()
			r.AddAttrs(slog.String("request_id", id))
		}
	}
	return c.h.Handle(ctx, r)
}

func (c *ctxHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &ctxHandler{h: c.h.WithAttrs(as)}
}

func (c *ctxHandler) WithGroup(name string) slog.Handler {
	return &ctxHandler{h: c.h.WithGroup(name)}
}
