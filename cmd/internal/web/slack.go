package web

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers"
)

// handleSlack answers the /treaty slash command: status, subscribe, list
// and help. The request must carry a valid Slack signature made with the
// signing secret within the last five minutes (401 otherwise). Answers
// are ephemeral Block Kit messages laid out by notifiers' Slack adapter;
// a refused command is answered with 200 and the reason, as Slack shows
// nothing else to the user.
func (s *Server) handleSlack(w http.ResponseWriter, r *http.Request) {
	if s.cfg.SlackSigningSecret == "" {
		s.writeError(w, r, &apiError{Status: http.StatusServiceUnavailable, Code: "slack_disabled", Message: "the Slack command is not configured on this server (no signing secret)"})
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("read body: %w", err))
		return
	}
	sv, err := slack.NewSecretsVerifier(r.Header, s.cfg.SlackSigningSecret)
	if err != nil {
		msg := "invalid Slack signature headers"
		if errors.Is(err, slack.ErrExpiredTimestamp) {
			msg = "stale Slack request: the timestamp is more than five minutes off"
		}
		s.writeError(w, r, unauthorized(msg))
		return
	}
	if _, err := sv.Write(body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := sv.Ensure(); err != nil {
		s.writeError(w, r, unauthorized("invalid Slack signature"))
		return
	}
	if err := s.refuseReplay(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		s.writeError(w, r, badRequestf("invalid form body: %v", err))
		return
	}
	cmd := slack.SlashCommand{Command: form.Get("command"), Text: form.Get("text"), ChannelID: form.Get("channel_id"),
		UserID: form.Get("user_id"), UserName: form.Get("user_name"), TeamID: form.Get("team_id")}
	info(r.Context()).actor = slackActor(cmd)
	msg := s.slashCommand(r, cmd)
	msg.ResponseType = slack.ResponseTypeEphemeral
	writeJSON(w, http.StatusOK, msg)
}

// slackWindow is how far a slash command's timestamp may be from now
// (slack-go's verifier refuses the rest); a verified request is remembered
// until its timestamp plus the window and a minute of clock skew.
const slackWindow = 5 * time.Minute

// refuseReplay remembers a verified slash command and refuses one already
// received (the same signature: the same timestamp and body) with 401.
func (s *Server) refuseReplay(r *http.Request) error {
	ts, err := strconv.ParseInt(r.Header.Get("X-Slack-Request-Timestamp"), 10, 64)
	if err != nil {
		return unauthorized("invalid Slack timestamp")
	}
	// The verified signature in one spelling: hex digits may come in
	// either case and still verify.
	sum := sha256.Sum256([]byte(strings.ToLower(r.Header.Get("X-Slack-Signature"))))
	fresh, err := s.cfg.SlackReplays.Remember(r.Context(), hex.EncodeToString(sum[:]), time.Unix(ts, 0).Add(slackWindow+time.Minute))
	if err != nil {
		return fmt.Errorf("slack replay store: %w", err)
	}
	if !fresh {
		s.logger.WarnContext(r.Context(), "replayed Slack request refused", "request_id", requestIDOf(r.Context()), "remote", r.RemoteAddr)
		return &apiError{Status: http.StatusUnauthorized, Code: "replayed",
			Message: "replayed Slack request: this signed request was already received; nothing was done again"}
	}
	return nil
}

func slackActor(cmd slack.SlashCommand) string {
	who := cmd.UserName
	if who == "" {
		who = cmd.UserID
	}
	return "slack:" + who
}

// slashCommand runs one command and returns its answer.
func (s *Server) slashCommand(r *http.Request, cmd slack.SlashCommand) slack.Msg {
	args, err := splitArgs(cmd.Text)
	if err != nil {
		return slackError(cmd, err)
	}
	if len(args) == 0 {
		return slackHelp(cmd, "")
	}
	sub, rest := strings.ToLower(args[0]), args[1:]
	switch sub {
	case "help":
		return slackHelp(cmd, "")
	case "status":
		msg, err := s.slackStatus(r, rest)
		if err != nil {
			return slackError(cmd, err)
		}
		return msg
	case "list", "treaties":
		msg, err := s.slackList(r)
		if err != nil {
			return slackError(cmd, err)
		}
		return msg
	case "subscribe":
		msg, err := s.slackSubscribe(r, cmd, rest)
		if err != nil {
			return slackError(cmd, err)
		}
		return msg
	}
	return slackHelp(cmd, fmt.Sprintf("Unknown command %q.", sub))
}

// splitArgs splits command text into words; double quotes (straight or
// curly, as Slack may send them) group words.
func splitArgs(text string) ([]string, error) {
	var out []string
	var cur strings.Builder
	in, has := false, false
	for _, c := range text {
		switch {
		case c == '"' || c == '“' || c == '”':
			in, has = !in, true
		case !in && (c == ' ' || c == '\t' || c == '\n'):
			if has {
				out = append(out, cur.String())
				cur.Reset()
				has = false
			}
		default:
			cur.WriteRune(c)
			has = true
		}
	}
	if in {
		return nil, &events.InvalidError{Field: "text", Reason: "a quote is not closed"}
	}
	if has {
		out = append(out, cur.String())
	}
	return out, nil
}

// slackHelp answers with the commands, after lead when there is one.
func slackHelp(cmd slack.SlashCommand, lead string) slack.Msg {
	name := orDefault(cmd.Command, "/treaty")
	var lines notifiers.Text
	if lead != "" {
		lines = append(lines, notifiers.Span{Text: lead + "\n"})
	}
	for i, c := range []struct{ usage, what string }{
		{"status TREATY", "progress toward entry into force (TREATY is an id like XVIII-16 or a name like hanoi)"},
		{"list", "the tracked treaties"},
		{`subscribe TREATY [--on deposits,signatures,milestones,countdown,protocols,corrections,all] [--digest "0 9 * * 1"] [--tz Europe/Paris]`, "post this treaty's news in this channel"},
		{"help", "this help"},
	} {
		if i > 0 {
			lines = append(lines, notifiers.Span{Text: "\n"})
		}
		lines = append(lines, notifiers.Span{Text: name + " " + c.usage, Style: notifiers.Code}, notifiers.Span{Text: " — " + c.what})
	}
	return notifiers.SlackMessage(notifiers.Card{Lead: lines, Summary: strings.TrimSpace(lead + " Commands: status, list, subscribe, help.")})
}

// slackError answers a refused command with its reason; the reason
// echoes what the user typed, so the adapter sets it as plain text.
func slackError(cmd slack.SlashCommand, err error) slack.Msg {
	return notifiers.SlackRefusal(toAPIError(err).Message, notifiers.Text{
		{Text: "Type "}, {Text: orDefault(cmd.Command, "/treaty") + " help", Style: notifiers.Code}, {Text: " for the commands."}})
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (s *Server) slackStatus(r *http.Request, args []string) (slack.Msg, error) {
	if len(args) == 0 {
		return slack.Msg{}, &events.InvalidError{Field: "treaty", Reason: "which treaty? e.g. /treaty status hanoi"}
	}
	id, err := s.cfg.Ledger.ResolveTreaty(r.Context(), strings.Join(args, " "))
	if err != nil {
		return slack.Msg{}, err
	}
	st, err := s.cfg.Runner.Status(r.Context(), id, s.today(), time.Time{})
	if err != nil {
		return slack.Msg{}, err
	}
	return notifiers.SlackMessage(notifiers.StatusCard(st)), nil
}

func (s *Server) slackList(r *http.Request) (slack.Msg, error) {
	sts, err := s.statuses(r.Context(), s.today(), time.Time{})
	if err != nil {
		return slack.Msg{}, err
	}
	var lines notifiers.Text
	for i, st := range sts {
		if i > 0 {
			lines = append(lines, notifiers.Span{Text: "\n"})
		}
		lines = append(lines, notifiers.Span{Text: treatyName(st), Style: notifiers.Strong},
			notifiers.Span{Text: fmt.Sprintf(" (%s) — %s", st.Treaty, notifiers.ProgressBar(st.Counted, st.Required))})
	}
	if len(lines) == 0 {
		lines = notifiers.Text{{Text: "No treaty is tracked yet."}}
	}
	return notifiers.SlackMessage(notifiers.Card{Lead: lines, Summary: fmt.Sprintf("%d treaties tracked", len(sts))}), nil
}

// slackSubscribe subscribes the command's channel to a treaty:
// TREATY words, then --on TOPICS, --digest SPEC (or "digest SPEC"),
// --tz ZONE and --participant NAME.
func (s *Server) slackSubscribe(r *http.Request, cmd slack.SlashCommand, args []string) (slack.Msg, error) {
	if cmd.ChannelID == "" {
		return slack.Msg{}, &events.InvalidError{Field: "channel_id", Reason: "the command came without a channel"}
	}
	var words []string
	sub := events.Subscription{Sink: events.SinkSlack, Channel: cmd.ChannelID}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "—") && !strings.HasPrefix(a, "–") && !strings.EqualFold(a, "digest") {
			words = append(words, a)
			continue
		}
		flag, value, inline := strings.Cut(strings.TrimLeft(strings.ToLower(a), "-—–"), "=")
		if !inline {
			if i+1 >= len(args) {
				return slack.Msg{}, &events.InvalidError{Field: a, Reason: "needs a value"}
			}
			i++
			value = args[i]
		}
		switch flag {
		case "on":
			sub.On = splitList(value)
		case "digest":
			sub.Digest = value
		case "tz":
			sub.TZ = value
		case "participant":
			sub.Participant = value
		default:
			return slack.Msg{}, &events.InvalidError{Field: a, Reason: "unknown option (want --on, --digest, --tz or --participant)"}
		}
	}
	if len(words) == 0 {
		return slack.Msg{}, &events.InvalidError{Field: "treaty", Reason: "which treaty? e.g. /treaty subscribe hanoi --on deposits,milestones"}
	}
	for _, t := range splitList(strings.Join(words, " ")) {
		id, err := s.cfg.Ledger.ResolveTreaty(r.Context(), t)
		if err != nil {
			return slack.Msg{}, err
		}
		sub.Treaties = append(sub.Treaties, id)
	}
	if sub.Digest != "" {
		if _, err := notifiers.ParseSchedule(sub.Digest, sub.TZ); err != nil {
			return slack.Msg{}, err
		}
	}
	e, err := s.cfg.Ledger.Subscribe(r.Context(), sub, events.SinkSecret{}, events.Metadata{Actor: slackActor(cmd), Source: "slack", CorrelationID: requestIDOf(r.Context())})
	if err != nil {
		return slack.Msg{}, err
	}
	s.afterWrite(r.Context(), "subscription", 1, 0)
	var created events.SubscriptionCreated
	if err := json.Unmarshal(e.Payload, &created); err != nil {
		return slack.Msg{}, fmt.Errorf("decode subscription: %w", err)
	}
	return notifiers.SlackSubscribed(created.Subscription, e.Position, slackActor(cmd)), nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
