package notifiers

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// Headers of a generic webhook delivery.
const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the
	// raw request body, keyed with the subscription's secret.
	SignatureHeader = "X-Treatywatch-Signature"
	// TimestampHeader carries the send time in Unix seconds; the same
	// instant is in the signed body as sent_at.
	TimestampHeader = "X-Treatywatch-Timestamp"
	// DeliveryHeader carries the delivery id, the same as the body's
	// delivery_id; it is stable across retries of one delivery.
	DeliveryHeader = "X-Treatywatch-Delivery"
)

// WebhookPayload is the JSON body of a generic webhook delivery.
type WebhookPayload struct {
	// Notice is the notice, as notifiers.Notice marshals it.
	Notice Notice `json:"notice"`
	// Text is the message's card as plain text (PlainText), as the
	// console prints it.
	Text string `json:"text"`
	// Subscription is the subscription id.
	Subscription string `json:"subscription"`
	// DeliveryID identifies the delivery; a retry sends the same id, so
	// receivers deduplicate on it.
	DeliveryID int64 `json:"delivery_id,omitempty"`
	// SentAt is when this attempt was sent (UTC, whole seconds). It is
	// covered by the signature, unlike the timestamp header.
	SentAt time.Time `json:"sent_at"`
}

// Webhook delivers notices as signed JSON to the subscription's URL: one
// POST per message, Content-Type application/json, with a WebhookPayload
// body (the notice, and the card as plain text). Any 2xx status is success; 429 is a *RateLimitedError (with
// Retry-After, seconds or HTTP-date); 408, 5xx and network errors are
// retryable; every other status is a *PermanentError. Errors never
// contain the URL. The Receipt is empty. Safe for concurrent use.
//
// # Verifying a delivery
//
// When the subscription has a Secret, each request carries
//
//	X-Treatywatch-Signature: sha256=<hex of HMAC-SHA256(secret, raw body)>
//	X-Treatywatch-Timestamp: <Unix seconds when sent>
//	X-Treatywatch-Delivery:  <delivery id>
//
// A receiver computes HMAC-SHA256 over the exact bytes of the body (before
// any JSON parsing) with the shared secret, hex-encodes it, and compares it
// with the header in constant time (VerifySignature does this). To refuse
// replays it checks that the signed body's sent_at is recent (say within
// five minutes) and that it has not already processed delivery_id; the
// timestamp header is a convenience copy and is not itself signed. Without
// a Secret the request is sent unsigned (no signature header).
type Webhook struct {
	client  *http.Client
	secrets SecretReader
	now     func() time.Time
}

var _ Sink = (*Webhook)(nil)

// NewWebhook returns a Webhook sink that posts with client, whose Timeout
// bounds each call (nil means a client with DefaultTimeout), to the URL
// and with the HMAC secret that secrets holds for each subscription.
func NewWebhook(client *http.Client, secrets SecretReader) *Webhook {
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout}
	}
	return &Webhook{client: client, secrets: secrets, now: time.Now}
}

// Send posts msg's notice and card to the subscription's URL, signed
// with its secret.
func (w *Webhook) Send(ctx context.Context, sub events.Subscription, msg Message) (Receipt, error) {
	const sink = events.SinkWebhook
	secret, err := sinkSecret(ctx, w.secrets, sink, sub)
	if err != nil {
		return Receipt{}, err
	}
	now := w.now().UTC().Truncate(time.Second)
	body, err := json.Marshal(WebhookPayload{
		Notice:       msg.Notice,
		Text:         PlainText(msg.Card),
		Subscription: sub.ID,
		DeliveryID:   msg.DeliveryID,
		SentAt:       now,
	})
	if err != nil {
		return Receipt{}, &PermanentError{Sink: sink, Reason: "cannot encode the notice", Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, secret.URL, bytes.NewReader(body))
	if err != nil {
		return Receipt{}, &PermanentError{Sink: sink, Reason: "invalid url", Err: redactURLError(err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "treatywatch-webhook")
	req.Header.Set(TimestampHeader, strconv.FormatInt(now.Unix(), 10))
	if msg.DeliveryID != 0 {
		req.Header.Set(DeliveryHeader, strconv.FormatInt(msg.DeliveryID, 10))
	}
	if secret.Secret != "" {
		req.Header.Set(SignatureHeader, Sign(secret.Secret, body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return Receipt{}, fmt.Errorf("%s: %w", sink, redactURLError(err))
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return Receipt{}, nil
	}
	detail := strings.Join(strings.Fields(strings.ToValidUTF8(string(excerpt), "")), " ")
	err = fromStatus(sink, resp.StatusCode, resp.Status, detail, nil)
	if rl, ok := err.(*RateLimitedError); ok {
		rl.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), w.now())
	}
	return Receipt{}, err
}

// Sign returns the signature header value for body: "sha256=" followed
// by the hex HMAC-SHA256 of body keyed with secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature reports whether header (the X-Treatywatch-Signature
// value) is the signature of body under secret. It compares in constant
// time and refuses an empty secret or a malformed header.
func VerifySignature(secret string, body []byte, header string) bool {
	if secret == "" {
		return false
	}
	hexSum, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}
