package notifiers

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/treatywatch/treatywatch/events"
)

// The answers of the Slack slash command that are not cards: its
// handler (cmd/internal/web) answers with SlackMessage of a card (a
// status, the list of treaties, the help) and with these for the two
// shapes a card does not have.

// SlackRefusal answers a refused slash command: the reason, after a
// warning sign, as plain_text — it often echoes what the user typed, so
// Slack must format nothing in it (no mention, no link, no *bold*) — and
// hint on a context line below. The fallback text is the reason.
func SlackRefusal(reason string, hint Text) slack.Msg {
	blocks := []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.PlainTextType, cutPlain(":warning: "+reason, MaxSectionText), true, false), nil, nil)}
	if len(hint) > 0 {
		blocks = append(blocks, contextBlock(hint))
	}
	return slack.Msg{Text: cutPlain(slackEscape(reason), MaxFallbackText), Blocks: slack.Blocks{BlockSet: blocks}}
}

// SlackSubscribed confirms that the slash command subscribed the channel
// it was typed in: the subscription's treaties, topics and digest, with
// a link to the channel, and on a context line its id, the ledger
// position that recorded it and who asked.
func SlackSubscribed(sub events.Subscription, position int64, actor string) slack.Msg {
	line := fmt.Sprintf("Subscribed <#%s> to %s (%s).", slackEscape(sub.Channel), slackEscape(strings.Join(sub.Treaties, ", ")), slackEscape(strings.Join(sub.On, ", ")))
	if sub.Digest != "" {
		line += fmt.Sprintf(" Digest: `%s`", slackEscape(sub.Digest))
		if sub.TZ != "" {
			line += " (" + slackEscape(sub.TZ) + ")"
		}
		line += "."
	}
	return slack.Msg{
		Text: slackEscape("Subscribed to " + strings.Join(sub.Treaties, ", ")),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(mrkdwn(cutMrkdwn(":white_check_mark: "+line, MaxSectionText)), nil, nil),
			contextBlock(text(fmt.Sprintf("Subscription %s, recorded at position %d by %s", sub.ID, position, actor))),
		}},
	}
}
