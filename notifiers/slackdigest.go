package notifiers

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// digestLineMax caps one digest line in Slack, so that a single long
// correction cannot take a whole section.
const digestLineMax = 500

// slackDigest lays a digest's card out within MaxBlocks: a header, the
// period, then each treaty's standing and items packed into sections of
// at most MaxSectionText characters. When blocks run short, every
// treaty's standing is kept before further items; what does not fit is
// counted on a final "…and N more" line.
func slackDigest(c Card) ([]slack.Block, string) {
	var blocks []slack.Block
	if c.Title != "" {
		blocks = append(blocks, header(c.Title))
	}
	var period []string
	if len(c.Context) > 0 {
		blocks = append(blocks, contextBlock(c.Context...))
		for _, l := range c.Context {
			period = append(period, l.Plain())
		}
	}
	if lead := slackText(c.Lead); lead != "" {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(cutMrkdwn(lead, MaxSectionText)), nil, nil))
	}
	// Every treaty's standing comes first in the allocation: each group
	// gets its first section (heading and first items) while blocks last,
	// then the rest of the blocks go to further items, in order.
	chunks := make([][]section, len(c.Groups))
	items := 0
	for i, g := range c.Groups {
		units := []string{slackText(g.Heading)}
		for _, it := range g.Items {
			units = append(units, cutMrkdwn(slackText(it), digestLineMax))
		}
		chunks[i] = packSections(units)
		items += len(g.Items)
	}
	budget := MaxBlocks - len(blocks) - 1 // one block stays free for "…and N more"
	alloc := make([]int, len(c.Groups))
	for i := range c.Groups {
		if budget == 0 {
			break
		}
		alloc[i], budget = 1, budget-1
	}
	for i := range c.Groups {
		if alloc[i] == 0 {
			break
		}
		extra := min(budget, len(chunks[i])-1)
		alloc[i], budget = alloc[i]+extra, budget-extra
	}
	shownItems, shownGroups := 0, 0
	for i := range c.Groups {
		if alloc[i] == 0 {
			break
		}
		shownGroups++
		shownItems-- // the heading is not an item
		for _, ch := range chunks[i][:alloc[i]] {
			blocks = append(blocks, slack.NewSectionBlock(mrkdwn(ch.text), nil, nil))
			shownItems += ch.units
		}
	}
	hiddenItems, hiddenGroups := items-shownItems, len(c.Groups)-shownGroups
	if hiddenItems > 0 || hiddenGroups > 0 {
		var more []string
		if hiddenItems > 0 {
			more = append(more, plural(hiddenItems, "more update"))
		}
		if hiddenGroups == 1 {
			more = append(more, "1 more treaty")
		} else if hiddenGroups > 1 {
			more = append(more, fmt.Sprintf("%d more treaties", hiddenGroups))
		}
		blocks = append(blocks, contextBlock(text("…and "+strings.Join(more, " and ")+" not shown here.")))
	}
	return blocks, slackFallback(c, c.Title+": "+strings.Join(period, " · "))
}

// section is the text of one section block and how many units it holds.
type section struct {
	text  string
	units int
}

// packSections joins lines into as few sections as fit MaxSectionText,
// in order; a line too long on its own is cut.
func packSections(lines []string) []section {
	var out []section
	var cur section
	size := 0
	for _, l := range lines {
		l = cutMrkdwn(l, MaxSectionText)
		n := utf8.RuneCountInString(l)
		if cur.units > 0 && size+1+n > MaxSectionText {
			out = append(out, cur)
			cur, size = section{}, 0
		}
		if cur.units > 0 {
			cur.text += "\n"
			size++
		}
		cur.text += l
		cur.units++
		size += n
	}
	if cur.units > 0 {
		out = append(out, cur)
	}
	return out
}
