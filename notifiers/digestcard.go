package notifiers

import (
	"fmt"
	"strings"

	"github.com/treatywatch/treatywatch/events"
)

// digestCard is the card of a digest: its title, its period (Context),
// "Nothing new in this period." (Lead) when no treaty is concerned, and
// one Group per treaty. n is valid UTF-8.
func digestCard(n Notice) Card {
	d := n.Digest
	if d == nil {
		d = &Digest{}
	}
	groups := digestGroups(d)
	c := Card{Kind: KindDigest, Title: digestTitle(d), Context: []Text{text(digestSummary(d, len(groups)))}}
	if len(groups) == 0 {
		c.Lead = text(emphasis("Nothing new in this period."))
	}
	for _, g := range groups {
		c.Groups = append(c.Groups, g.group())
	}
	return c
}

// digestGroup is one treaty's part of a digest, before it becomes a Group.
type digestGroup struct {
	treaty, name string
	progress     *Progress
	items        []Notice
}

// digestGroups orders a digest by treaty: the treaties of Progress first,
// in their order, then any other treaty an item mentions, in log order.
func digestGroups(d *Digest) []digestGroup {
	var groups []digestGroup
	index := map[string]int{}
	for i := range d.Progress {
		p := &d.Progress[i]
		if _, ok := index[p.Treaty]; ok {
			continue
		}
		index[p.Treaty] = len(groups)
		groups = append(groups, digestGroup{treaty: p.Treaty, name: p.TreatyName, progress: p})
	}
	for _, it := range d.Items {
		i, ok := index[it.Treaty]
		if !ok {
			i = len(groups)
			index[it.Treaty] = i
			groups = append(groups, digestGroup{treaty: it.Treaty, name: it.TreatyName})
		}
		groups[i].items = append(groups[i].items, it)
	}
	return groups
}

// group gives a treaty's heading — its name, standing and, when the
// period brought nothing, a remark — and one line per item.
func (g digestGroup) group() Group {
	name := g.name
	if name == "" {
		name = g.treaty
	}
	heading := text(strong(name))
	if g.treaty != "" && g.treaty != name {
		heading = text(heading, " (", g.treaty, ")")
	}
	counted, required, eif, inForce := 0, 0, events.Date{}, false
	if p := g.progress; p != nil {
		counted, required, eif, inForce = p.Counted, p.Required, p.EntryIntoForce, p.InForce
	} else if len(g.items) > 0 {
		last := g.items[len(g.items)-1]
		counted, required, eif = last.Counted, last.Required, last.EntryIntoForce
	}
	if required > 0 {
		heading = text(heading, "\n", ProgressBar(counted, required))
	}
	switch {
	case inForce && !eif.IsZero():
		heading = text(heading, "\nIn force since ", formatDate(eif))
	case inForce:
		heading = text(heading, "\nIn force")
	case !eif.IsZero():
		heading = text(heading, "\nEnters into force on ", formatDate(eif))
	}
	if p := g.progress; p != nil && p.Forecast != nil {
		heading = text(heading, "\n", forecastText(*p.Forecast))
	}
	if len(g.items) == 0 {
		heading = text(heading, "\n", emphasis("No new acts in this period."))
	}
	out := Group{Treaty: g.treaty, Heading: heading, Counted: counted, Required: required}
	for _, it := range g.items {
		out.Items = append(out.Items, digestLine(it))
	}
	return out
}

// digestLine is one item of a digest on one line: "• date · headline
// (count) — what changed · source".
func digestLine(n Notice) Text {
	line := text("• ")
	if d := formatDate(n.Date); d != "" {
		line = text(line, d, " · ")
	}
	line = text(line, noticeCard(n).Headline)
	if n.Kind == KindDeposit && n.Required > 0 {
		line = text(line, fmt.Sprintf(" (%d of %d)", n.Counted, n.Required))
	}
	if n.Text != "" {
		line = text(line, " — ", n.Text)
	}
	if n.Source != "" {
		line = text(line, " · ", link(n.Source))
	}
	return line
}

func digestTitle(d *Digest) string {
	title := "treatywatch digest"
	if !d.Until.IsZero() {
		title += " — " + formatDate(events.DateOf(d.Until))
	}
	return title
}

// digestSummary says what period a digest covers and how much is in it.
func digestSummary(d *Digest, groups int) string {
	const layout = "2 January 2006 15:04 MST"
	var parts []string
	switch {
	case !d.Since.IsZero() && !d.Until.IsZero():
		parts = append(parts, "From "+d.Since.Format(layout)+" to "+d.Until.Format(layout))
	case !d.Until.IsZero():
		parts = append(parts, "Until "+d.Until.Format(layout))
	}
	treaties := "treaties"
	if groups == 1 {
		treaties = "treaty"
	}
	parts = append(parts, fmt.Sprintf("%s on %d %s", plural(len(d.Items), "update"), groups, treaties))
	return strings.Join(parts, " · ")
}

// forecastText is a digest's forecast line, labelled as an estimate:
// "Forecast (an estimate, not a known date): entry into force between …
// and …, most likely around … — scaled from 5 comparable treaties".
func forecastText(f ForecastLine) string {
	refs := fmt.Sprintf("%d comparable treaties", f.References)
	if f.References == 1 {
		refs = "1 comparable treaty"
	}
	line := fmt.Sprintf("Forecast (an estimate, not a known date): entry into force between %s and %s, most likely around %s — scaled from %s",
		formatDate(f.Earliest), formatDate(f.Latest), formatDate(f.Central), refs)
	if !f.BeatsNaive {
		line += "; in its backtest it did not beat a straight-line extrapolation"
	}
	return line
}
