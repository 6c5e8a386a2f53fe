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
	"github.com/treatywatch/treatywatch/projections"
)

// handleSlack answers the /treaty slash command: status, subscribe, list
// and help. The request must carry a valid Slack signature made with the
// signing secret within the last five minutes (401 otherwise). Answers
// are ephemeral Block Kit messages; a refused command is answered with
// 200 and the reason, as Slack shows nothing else to the user.
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

func mrkdwn(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, text, false, false)
}

func plain(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, text, false, false)
}

// esc escapes text for Slack mrkdwn.
func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func blocksMsg(fallback string, blocks ...slack.Block) slack.Msg {
	return slack.Msg{Text: fallback, Blocks: slack.Blocks{BlockSet: blocks}}
}

func slackHelp(cmd slack.SlashCommand, lead string) slack.Msg {
	name := esc(orDefault(cmd.Command, "/treaty"))
	text := strings.Join([]string{
		fmt.Sprintf("`%s status TREATY` — progress toward entry into force (TREATY is an id like XVIII-16 or a name like hanoi)", name),
		fmt.Sprintf("`%s list` — the tracked treaties", name),
		fmt.Sprintf("`%s subscribe TREATY [--on deposits,signatures,milestones,countdown,protocols,corrections,all] [--digest \"0 9 * * 1\"] [--tz Europe/Paris]` — post this treaty's news in this channel", name),
		fmt.Sprintf("`%s help` — this help", name),
	}, "\n")
	blocks := []slack.Block{}
	if lead != "" {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(esc(lead)), nil, nil))
	}
	blocks = append(blocks, slack.NewSectionBlock(mrkdwn(text), nil, nil))
	return blocksMsg(strings.TrimSpace(lead+" Commands: status, list, subscribe, help."), blocks...)
}

// slackError answers a refused command. The message echoes what the user
// typed, so it is plain text: Slack formats nothing in it (no mention, no
// link, no *bold*).
func slackError(cmd slack.SlashCommand, err error) slack.Msg {
	ae := toAPIError(err)
	msg := ae.Message
	return blocksMsg(msg,
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.PlainTextType, ":warning: "+msg, true, false), nil, nil),
		slack.NewContextBlock("", mrkdwn(fmt.Sprintf("Type `%s help` for the commands.", esc(orDefault(cmd.Command, "/treaty"))))))
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
	name := treatyName(st)
	progress := notifiers.ProgressBar(st.Counted, st.Required)
	fields := []*slack.TextBlockObject{
		mrkdwn(fmt.Sprintf("*Signatories*\n%d", st.Signatories)),
		mrkdwn(fmt.Sprintf("*Parties*\n%d", st.Parties)),
		mrkdwn("*Threshold met*\n" + orDash(st.ThresholdMetOn)),
		mrkdwn("*Entry into force*\n" + esc(eifText(st))),
	}
	return blocksMsg(fmt.Sprintf("%s (%s): %s", name, st.Treaty, progress),
		slack.NewHeaderBlock(plain(fmt.Sprintf("%s (%s)", name, st.Treaty))),
		slack.NewSectionBlock(mrkdwn("`"+esc(progress)+"`"), fields, nil),
		slack.NewContextBlock("", mrkdwn(esc(fmt.Sprintf("As of %s · %s", st.AsOf, st.Rule)))),
	), nil
}

func (s *Server) slackList(r *http.Request) (slack.Msg, error) {
	sts, err := s.statuses(r.Context(), s.today(), time.Time{})
	if err != nil {
		return slack.Msg{}, err
	}
	var lines []string
	for _, st := range sts {
		lines = append(lines, fmt.Sprintf("*%s* (%s) — %s", esc(treatyName(st)), esc(st.Treaty), esc(notifiers.ProgressBar(st.Counted, st.Required))))
	}
	if len(lines) == 0 {
		lines = []string{"No treaty is tracked yet."}
	}
	return blocksMsg(fmt.Sprintf("%d treaties tracked", len(sts)),
		slack.NewSectionBlock(mrkdwn(strings.Join(lines, "\n")), nil, nil)), nil
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
	got := created.Subscription
	text := fmt.Sprintf("Subscribed <#%s> to %s (%s).", esc(got.Channel), esc(strings.Join(got.Treaties, ", ")), esc(strings.Join(got.On, ", ")))
	if got.Digest != "" {
		text += fmt.Sprintf(" Digest: `%s`", esc(got.Digest))
		if got.TZ != "" {
			text += " (" + esc(got.TZ) + ")"
		}
		text += "."
	}
	return blocksMsg(fmt.Sprintf("Subscribed to %s", strings.Join(got.Treaties, ", ")),
		slack.NewSectionBlock(mrkdwn(":white_check_mark: "+text), nil, nil),
		slack.NewContextBlock("", mrkdwn(esc(fmt.Sprintf("Subscription %s, recorded at position %d by %s", got.ID, e.Position, slackActor(cmd)))))), nil
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

// treatyName is the short title, or the title.
func treatyName(st projections.Status) string {
	if st.ShortTitle != "" {
		return st.ShortTitle
	}
	return st.Title
}

// eifText says when a treaty enters (or entered) into force.
func eifText(st projections.Status) string {
	switch {
	case st.EntryIntoForce == nil && st.ThresholdMetOn != nil:
		return "waiting for the parent treaty (" + st.Parent + ")"
	case st.EntryIntoForce == nil:
		return "not yet known"
	case st.DaysUntilEntryIntoForce != nil:
		return fmt.Sprintf("%s (in %s)", st.EntryIntoForce, plural(*st.DaysUntilEntryIntoForce, "day"))
	case st.DaysSinceEntryIntoForce != nil && *st.DaysSinceEntryIntoForce == 0:
		return fmt.Sprintf("%s (in force from today)", st.EntryIntoForce)
	}
	return fmt.Sprintf("%s (in force)", st.EntryIntoForce)
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func orDash(d *events.Date) string {
	if d == nil || d.IsZero() {
		return "—"
	}
	return d.String()
}
