package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/agentphone/agentphone"
)

// statusError is an HTTP error this package raises itself, answered as
// {"detail": Detail}.
type statusError struct {
	Status int
	Detail string
}

func (e *statusError) Error() string { return e.Detail }

var errBodyTooLarge = &statusError{http.StatusRequestEntityTooLarge, "Request body too large: the limit is 1 MiB"}

// validationError is a 422 whose locs are complete ("body", "query", …).
type validationError struct {
	Fields []agentphone.FieldError
}

func (e *validationError) Error() string {
	return (&agentphone.ValidationError{Fields: e.Fields}).Error()
}

// detailJSON is the body of every non-422 error (spec §1.8).
type detailJSON struct {
	Detail string `json:"detail"`
}

// validationJSON is the FastAPI 422 body.
type validationJSON struct {
	Detail []fieldErrorJSON `json:"detail"`
}

type fieldErrorJSON struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

func newValidationJSON(fields []agentphone.FieldError) validationJSON {
	out := validationJSON{Detail: make([]fieldErrorJSON, len(fields))}
	for i, f := range fields {
		out.Detail[i] = fieldErrorJSON{Loc: f.Loc, Msg: f.Msg, Type: f.Type}
	}
	return out
}

var internalErrorBody = detailJSON{"Internal server error"}

// statusOf maps a domain error kind to its HTTP status (spec §1.8).
func statusOf(k agentphone.Kind) int {
	switch k {
	case agentphone.KindNotFound:
		return http.StatusNotFound
	case agentphone.KindConflict:
		return http.StatusConflict
	case agentphone.KindBadRequest:
		return http.StatusBadRequest
	case agentphone.KindUnauthorized:
		return http.StatusUnauthorized
	case agentphone.KindPaymentRequired:
		return http.StatusPaymentRequired
	case agentphone.KindUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// writeError answers err. This is the one place where errors become
// statuses: validation errors of the domain become 422s with locs under
// "body", domain errors get the status of their kind and their message, and
// anything else is logged and answered with a generic 500 that never shows
// the internal text.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		se *statusError
		ve *validationError
		dv *agentphone.ValidationError
		de *agentphone.Error
	)
	switch {
	case errors.As(err, &se):
		s.writeJSON(w, r, se.Status, detailJSON{se.Detail})
	case errors.As(err, &ve):
		s.writeJSON(w, r, http.StatusUnprocessableEntity, newValidationJSON(ve.Fields))
	case errors.As(err, &dv):
		s.writeJSON(w, r, http.StatusUnprocessableEntity, newValidationJSON(prefixLocs("body", dv.Fields)))
	case errors.As(err, &de) && de.Kind != agentphone.KindInternal:
		status := statusOf(de.Kind)
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", "Bearer")
		}
		msg := de.Message
		if msg == "" { // a bare sentinel
			msg = http.StatusText(status)
		}
		s.writeJSON(w, r, status, detailJSON{msg})
	default:
		level, msg := slog.LevelError, "internal error"
		if r.Context().Err() != nil {
			// The client went away mid-request (its cancellation is the
			// error): not a server fault, and nobody reads the answer.
			level, msg = slog.LevelInfo, "request abandoned by the client"
		}
		s.logger.LogAttrs(r.Context(), level, msg,
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("err", err.Error()))
		s.writeJSON(w, r, http.StatusInternalServerError, internalErrorBody)
	}
}

// prefixLocs returns fields with root put in front of every loc.
func prefixLocs(root string, fields []agentphone.FieldError) []agentphone.FieldError {
	out := make([]agentphone.FieldError, len(fields))
	for i, f := range fields {
		loc := make([]any, 0, len(f.Loc)+1)
		out[i] = agentphone.FieldError{Loc: append(append(loc, root), f.Loc...), Msg: f.Msg, Type: f.Type}
	}
	return out
}

var jsonContentType = []string{"application/json"}

// writeJSON answers status with v encoded as JSON (HTML characters are not
// escaped: the API is not embedded in pages).
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	buf := s.bufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 { // do not keep rare huge buffers alive
			buf.Reset()
			s.bufs.Put(buf)
		}
	}()
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		s.logger.LogAttrs(r.Context(), slog.LevelError, "encode response",
			slog.String("path", r.URL.Path), slog.String("err", err.Error()))
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"detail":"Internal server error"}` + "\n")
	}
	b := buf.Bytes()
	b = b[:len(b)-1] // Encode's trailing newline
	h := w.Header()
	h[hdrContentType] = jsonContentType
	h[hdrContentLength] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
