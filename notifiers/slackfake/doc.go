// Package slackfake is the one fake Slack of the repository, for tests: a
// loopback server speaking the parts of Slack that treatywatch uses —
// the Web API's chat.postMessage, conversations.history and
// conversations.replies (with metadata and cursor pagination), and
// incoming webhooks — that records what it receives and answers with
// faults on demand: 429 with Retry-After, 5xx before or after recording
// the post, a hang past the client's timeout before or after recording, a
// connection reset after recording, Slack's permanent errors
// (invalid_auth, channel_not_found, not_in_channel, is_archived), and a
// refused connection (Down). Faults are queued (Fail) or chosen per
// request by a script (Script). See New.
//
// It must never be used to talk to the real Slack.
package slackfake
