// Package slackfake is a fake Slack Web API server for tests; see New.
// It must never be used to talk to the real Slack.
package slackfake
