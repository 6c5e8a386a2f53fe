package notifiers

import (
	"fmt"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// TopicOf returns the subscription topic ("--on") a notice kind belongs to.
func TopicOf(kind string) string {
	switch kind {
	case KindDeposit, KindAct:
		return events.TopicDeposits
	case KindSignature, KindSignatureWindow:
		return events.TopicSignatures
	case KindMilestone, KindToGo, KindThreshold:
		return events.TopicMilestones
	case KindInForce, KindCountdown:
		return events.TopicCountdown
	case KindProtocol:
		return events.TopicProtocols
	case KindCorrection, KindRetraction:
		return events.TopicCorrections
	}
	return ""
}

// Wants reports whether a subscription asked for a notice. A digest
// subscription (one with a cron spec) wants its digests and nothing else:
// what happens in between is what the digest reports. Any other one wants
// the notices of its treaties and topics and, when it follows one
// participant, of that participant (treaty-wide notices never name one and
// are not sent to participant subscriptions).
func Wants(sub events.Subscription, n Notice) bool {
	if n.Kind == KindDigest || sub.Digest != "" {
		return n.Kind == KindDigest && sub.Digest != ""
	}
	if !sub.Covers(n.Treaty) || !sub.Wants(TopicOf(n.Kind)) {
		return false
	}
	return sub.Participant == "" || sub.Participant == n.Participant
}

// EventNotices returns what a ledger event of a treaty stream tells
// subscribers, given the treaty's status with everything known before and
// after it (projections.Compute as of the end of time). It is pure.
func EventNotices(e events.Envelope, p events.Payload, def events.Definition, before, after projections.Status) []Notice {
	base := Notice{Treaty: def.ID, TreatyName: def.Name(), Position: e.Position, Reference: e.Meta.Reference, Source: e.Meta.Source,
		Counted: after.Counted, Required: after.Required}
	if after.EntryIntoForce != nil {
		base.EntryIntoForce = *after.EntryIntoForce
	}
	var out []Notice
	switch v := p.(type) {
	case *events.Act:
		n := base
		n.Participant, n.Action, n.Date = v.Participant, v.Action, v.Date
		switch a := v.Action; {
		case a.IsConsent():
			n.Kind = KindDeposit
		case a == events.Signature:
			n.Kind = KindSignature
		case a == events.ProtocolProposed || a == events.ProtocolAdopted:
			n.Kind = KindProtocol
			n.Text = v.Subject
		default:
			n.Kind = KindAct
			n.Text = v.Note
		}
		out = append(out, n)
	case *events.ActCorrected:
		n := base
		n.Kind = KindCorrection
		n.Participant, n.Action, n.Date = v.Act.Participant, v.Act.Action, v.Act.Date
		n.Text = fmt.Sprintf("The act recorded at position %d now reads: %s by %s on %s. Reason: %s", v.Supersedes, v.Act.Action.Label(), v.Act.Participant, v.Act.Date, v.Reason)
		out = append(out, n)
	case *events.ActRetracted:
		n := base
		n.Kind = KindRetraction
		n.Text = fmt.Sprintf("The act recorded at position %d was retracted. Reason: %s", v.Supersedes, v.Reason)
		out = append(out, n)
	default:
		return nil
	}
	for _, m := range projections.Milestones(before, after) {
		n := base
		n.Date = m.Date
		switch m.Kind {
		case projections.PercentReached:
			if m.Percent >= 100 {
				continue // the threshold notice says it
			}
			n.Kind, n.Percent = KindMilestone, m.Percent
		case projections.FewToGo:
			n.Kind = KindToGo
		case projections.ThresholdMet:
			n.Kind = KindThreshold
		default:
			continue // entry into force is announced on its day by the scheduler
		}
		out = append(out, n)
	}
	return out
}

// DedupKey is the key that makes a notice unique per subscription: the
// same event or the same time-driven moment never yields two deliveries.
func DedupKey(n Notice) string {
	switch {
	case n.Kind == KindDigest && n.Digest != nil:
		return "digest:" + n.Digest.Until.UTC().Format("2006-01-02T15:04:05Z")
	case n.Position > 0:
		k := fmt.Sprintf("event:%d:%s", n.Position, n.Kind)
		if n.Kind == KindMilestone {
			k += fmt.Sprintf(":%d", n.Percent)
		}
		return k
	default:
		return fmt.Sprintf("%s:%s:%s:%d", n.Kind, n.Treaty, n.Date, n.DaysLeft)
	}
}

// ChannelKey is where a subscription's messages go, the unit of pacing
// and threading: the sink and its channel, or for webhooks the
// fingerprint of their secrets (never the URL, which is a credential:
// channel keys are stored in the outbox and appear in logs).
func ChannelKey(sub events.Subscription) string {
	switch sub.Sink {
	case events.SinkSlack:
		return "slack:" + sub.Channel
	case events.SinkSlackWebhook, events.SinkWebhook:
		if sub.SecretFingerprint != "" {
			return sub.Sink + ":" + sub.SecretFingerprint
		}
	}
	return sub.Sink + ":" + sub.ID
}
