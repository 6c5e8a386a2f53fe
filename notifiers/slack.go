package notifiers

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/treatywatch/treatywatch/events"
)

// DefaultTimeout bounds one HTTP call of a sink when its constructor is
// given no timeout or no client.
const DefaultTimeout = 10 * time.Second

// slackPoster is what the Slack sink needs from Slack's Web API client;
// *slack.Client satisfies it.
type slackPoster interface {
	PostMessageContext(ctx context.Context, channel string, options ...slack.MsgOption) (string, string, error)
	GetConversationHistoryContext(ctx context.Context, params *slack.GetConversationHistoryParameters) (*slack.GetConversationHistoryResponse, error)
	GetConversationRepliesContext(ctx context.Context, params *slack.GetConversationRepliesParameters) ([]slack.Message, bool, string, error)
}

// DeliveryMetadataType is the Slack message metadata event type that
// carries a treatywatch delivery id, so an uncertain delivery can be
// confirmed from the channel's history instead of being posted twice.
const DeliveryMetadataType = "treatywatch_delivery"

// Slack delivers messages with the Slack Web API (chat.postMessage and a
// bot token) to the subscription's Channel, as the Block Kit and fallback
// text that SlackMessage makes of the message's card, threaded under
// Message.ThreadTS when set.
// The Receipt carries the posted message's ts and channel id, which the
// caller keeps to thread later messages for the same treaty.
//
// Slack does not retry: failures come back classified (see Classify):
// *PermanentError for codes like invalid_auth or channel_not_found,
// *RateLimitedError for HTTP 429 with Slack's Retry-After, and a plain
// wrapped error (retryable) for 5xx and network failures. A failure after
// which the message may have been posted nonetheless — a 429, a 5xx, a
// timeout or a reset once the request was written, internal_error — is
// wrapped in an *UncertainError; a failure before the request was written
// (a refused connection) or Slack's refusal is not. Delivered then tells
// whether such a message arrived. Safe for concurrent use.
type Slack struct {
	poster slackPoster
}

var _ Sink = (*Slack)(nil)

// NewSlack returns a Slack sink that posts with client. The client should
// not retry by itself (no slack.OptionRetry): the sender owns retries.
func NewSlack(client *slack.Client) *Slack {
	return &Slack{poster: client}
}

// NewSlackClient builds a Slack Web API client for token. apiURL is the
// API's base URL ("" means slack.APIURL, https://slack.com/api/; tests and
// proxies set it, for instance from SLACK_API_URL in cmd/); a missing
// trailing slash is added. Each call is bounded by timeout (DefaultTimeout
// when zero or negative). The client does not retry.
func NewSlackClient(token, apiURL string, timeout time.Duration) *slack.Client {
	if apiURL == "" {
		apiURL = slack.APIURL
	}
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/"
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return slack.New(token,
		slack.OptionAPIURL(apiURL),
		slack.OptionHTTPClient(&http.Client{Timeout: timeout}),
	)
}

// Send posts msg to sub.Channel.
func (s *Slack) Send(ctx context.Context, sub events.Subscription, msg Message) (Receipt, error) {
	if sub.Channel == "" {
		return Receipt{}, &PermanentError{Sink: events.SinkSlack, Reason: "subscription " + sub.ID + " has no channel"}
	}
	m := SlackMessage(msg.Card)
	opts := []slack.MsgOption{
		slack.MsgOptionText(m.Text, false),
		slack.MsgOptionDisableLinkUnfurl(),
	}
	if len(m.Blocks.BlockSet) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(m.Blocks.BlockSet...))
	}
	if msg.ThreadTS != "" {
		// Follow-ups thread under the treaty's first message and are
		// also shown in the channel.
		opts = append(opts, slack.MsgOptionTS(msg.ThreadTS), slack.MsgOptionBroadcast())
	}
	if msg.DeliveryID > 0 {
		opts = append(opts, slack.MsgOptionMetadata(slack.SlackMetadata{EventType: DeliveryMetadataType,
			EventPayload: map[string]any{"delivery_id": strconv.FormatInt(msg.DeliveryID, 10)}}))
	}
	ctx, trace := traceWrites(ctx)
	channel, ts, err := s.poster.PostMessageContext(ctx, sub.Channel, opts...)
	if err != nil {
		return Receipt{}, slackOutcome(events.SinkSlack, err, trace)
	}
	return Receipt{TS: ts, Channel: channel}, nil
}

// confirmPages bounds how many pages of history (200 messages each)
// Delivered reads before it gives up.
const confirmPages = 25

// Delivered looks for msg's delivery id in the metadata of the messages
// posted to the subscription's channel since a time (in the thread, when
// msg is a reply), following Slack's cursors, so that a delivery whose
// outcome is unknown — the process died during the call, or Slack
// answered 429, 5xx or not in time — is not posted twice. It implements
// Confirmer. The bot needs the channels:history scope (groups:history for
// a private channel); a missing scope is a *PermanentError. Having read
// confirmPages pages without finding it nor reaching since, it returns a
// *PermanentError rather than a guess.
func (s *Slack) Delivered(ctx context.Context, sub events.Subscription, msg Message, since time.Time) (Receipt, bool, error) {
	if msg.DeliveryID == 0 {
		return Receipt{}, false, nil
	}
	want := strconv.FormatInt(msg.DeliveryID, 10)
	oldest := strconv.FormatFloat(float64(since.UnixNano())/1e9, 'f', 6, 64)
	cursor := ""
	for range confirmPages {
		var (
			found   []slack.Message
			hasMore bool
			next    string
		)
		if msg.ThreadTS != "" {
			msgs, more, nc, err := s.poster.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
				ChannelID: sub.Channel, Timestamp: msg.ThreadTS, Oldest: oldest, Limit: 200, IncludeAllMetadata: true, Cursor: cursor})
			if err != nil {
				return Receipt{}, false, fromSlack(events.SinkSlack, err)
			}
			found, hasMore, next = msgs, more, nc
		} else {
			res, err := s.poster.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
				ChannelID: sub.Channel, Oldest: oldest, Limit: 200, IncludeAllMetadata: true, Cursor: cursor})
			if err != nil {
				return Receipt{}, false, fromSlack(events.SinkSlack, err)
			}
			found, hasMore, next = res.Messages, res.HasMore, res.ResponseMetaData.NextCursor
		}
		for _, m := range found {
			if m.Metadata.EventType == DeliveryMetadataType && fmt.Sprint(m.Metadata.EventPayload["delivery_id"]) == want {
				return Receipt{TS: m.Timestamp, Channel: sub.Channel}, true, nil
			}
		}
		if !hasMore || next == "" {
			return Receipt{}, false, nil
		}
		cursor = next
	}
	return Receipt{}, false, &PermanentError{Sink: events.SinkSlack,
		Reason: fmt.Sprintf("more than %d messages in %s since %s: cannot tell whether delivery %s arrived", confirmPages*200, sub.Channel, since.UTC().Format(time.RFC3339), want)}
}

// SlackWebhook delivers messages to a Slack incoming webhook, the
// subscription's URL, as the Block Kit and fallback text that
// SlackMessage makes of the message's card.
// Incoming webhooks return no message ts, so the Receipt is empty and
// messages sent this way cannot start threads; Message.ThreadTS is still
// passed as thread_ts when set.
//
// Failures are classified like Slack's: 429 with Retry-After is a
// *RateLimitedError, other 4xx (400 invalid_payload, 403
// action_prohibited, 404 no_service or channel_not_found, 410
// channel_is_archived) a *PermanentError, 5xx and network errors are
// retryable; a 429, a 5xx, a timeout or a reset once the request was
// written is wrapped in an *UncertainError. An incoming webhook cannot be
// asked whether a message arrived and Slack does not deduplicate, so the
// sender dead-letters such a delivery instead of posting it again. Errors
// never contain the webhook URL, which is a credential. Safe for
// concurrent use.
type SlackWebhook struct {
	client  *http.Client
	secrets SecretReader
}

var _ Sink = (*SlackWebhook)(nil)

// NewSlackWebhook returns a SlackWebhook sink that posts with client,
// whose Timeout bounds each call (nil means a client with
// DefaultTimeout), to the URL that secrets holds for each subscription.
func NewSlackWebhook(client *http.Client, secrets SecretReader) *SlackWebhook {
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout}
	}
	return &SlackWebhook{client: client, secrets: secrets}
}

// Send posts msg to the subscription's webhook URL.
func (s *SlackWebhook) Send(ctx context.Context, sub events.Subscription, msg Message) (Receipt, error) {
	secret, err := sinkSecret(ctx, s.secrets, events.SinkSlackWebhook, sub)
	if err != nil {
		return Receipt{}, err
	}
	m := SlackMessage(msg.Card)
	wm := &slack.WebhookMessage{
		Text:            m.Text,
		ThreadTimestamp: msg.ThreadTS,
	}
	if len(m.Blocks.BlockSet) > 0 {
		wm.Blocks = &m.Blocks
	}
	ctx, trace := traceWrites(ctx)
	if err := slack.PostWebhookCustomHTTPContext(ctx, secret.URL, s.client, wm); err != nil {
		return Receipt{}, slackOutcome(events.SinkSlackWebhook, err, trace)
	}
	return Receipt{}, nil
}
