// Package web is treatywatch's HTTP delivery mechanism: the JSON API under
// /api/v1 (with its OpenAPI description), the Server-Sent Events stream of
// the log, the Slack slash command, the server-rendered dashboard with its
// officers' pages, and the operational endpoints (/healthz, /readyz,
// /metrics).
//
// Package web owns HTTP: routing, authentication (bearer tokens checked
// with events.Ledger.VerifyToken, dashboard sessions, CSRF tokens),
// request size limits and timeouts, idempotency keys, request logs and
// metrics, and the one mapping from the events package's errors to HTTP
// status codes (errors.go). It parses requests, calls the same
// application functions as the command line (events.Ledger,
// projections.Runner, treatyfile.Parse, notifiers.ParseSchedule) and
// renders their answers. The Slack command's answers are laid out by
// notifiers' Slack adapter (SlackMessage of a card, SlackRefusal,
// SlackSubscribed), the one place that builds Block Kit.
//
// It must not hold domain logic: no rule about treaties, participants,
// dates or entry into force is decided here; a request the ledger refuses
// is refused with the ledger's own message. It reads no environment and no
// flags (cmd/treatywatch does, and passes a Config), keeps no globals
// beyond its embedded files, and writes nothing but events (through the
// Ledger), the answers of keyed writes and the Slack requests it accepted
// (through the ledger store's ports events.AnswerStore and
// events.SeenRequestStore). It writes no SQL and does not import
// database/sql: the storage adapters (events/sqlite, events/postgres) do.
//
// For analysts it serves the exports (exports.go: the log's CSV, the
// archive for an admin token, a treaty's participant table, all streamed
// through cmd/internal/export), the diffs and forecasts (analysis.go:
// projections.DiffStatuses and ForecastProgress), and the charts
// (charts.go: cmd/internal/chart's drawings of projections.CurveOf, as SVG
// or PNG).
//
// Read answers that depend only on a treaty's standing at a date (status,
// participant table, timeline) are kept encoded (respcache.go) while the
// Runner's StampAt holds, and full pages of the log for ever (the log is
// append-only). The tables count each participant's statements by default
// (summaryRow); their texts are the participant resource's, or inline
// with statements=full.
//
// Idempotency records (the Idempotency-Key header) are kept in the
// ledger's store (DurableIdempotency): the answer of a write is kept by
// the store in the transaction that appends the write's events
// (events.WithAnswer), so a retry after a dropped connection or a crash
// gets the first answer, never a second write. No answer holding a secret
// (a new token's) is kept. See Config.Idempotency for the in-memory
// fallback.
package web
