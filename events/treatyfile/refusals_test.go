package treatyfile_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/treatyfile"
)

// hanoiYAML is the head of the Hanoi Convention's definition (UNTC
// XVIII-16, art. 65(1)); each case below adds or replaces a line of it.
const hanoiYAML = `id: XVIII-16
title: United Nations Convention against Cybercrime
adopted: 2024-12-24
entry_into_force:
  instruments: 40
  delay: 90 days
`

// TestParseRefusesGarbage: every kind of garbage a definition file can
// hold is refused with the whole message, exactly as `treaty add` and
// PUT /api/v1/treaties print it.
func TestParseRefusesGarbage(t *testing.T) {
	dir := MustDirectory(t)
	rule := func(lines ...string) string {
		return "id: XVIII-16\ntitle: United Nations Convention against Cybercrime\nadopted: 2024-12-24\nentry_into_force:\n  " + strings.Join(lines, "\n  ") + "\n"
	}
	bomb := "id: XVIII-16\ntitle: Hanoi\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nentry_into_force: {instruments: 40, delay: 90 days}\nsources: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
	for _, tc := range []struct {
		name, yaml, msg string
	}{
		// Periods: overflowing, absurd, or not in decimal digits.
		{"delay that overflows int32", rule("instruments: 40", "delay: 2147483647 days"),
			`line 6: entry_into_force.delay: invalid period "2147483647 days": 2147483647 has more than four digits; a period is at most 3660 days, 120 months or 10 years`},
		{"absurd years", rule("instruments: 40", "delay: 999999 years"),
			`line 6: entry_into_force.delay: invalid period "999999 years": 999999 has more than four digits; a period is at most 3660 days, 120 months or 10 years`},
		{"just over ten years", rule("instruments: 40", "delay: 11 years"),
			`line 6: entry_into_force.delay: invalid period "11 years": 11 years is too long: at most 10 years (a period is at most 3660 days, 120 months or 10 years)`},
		{"just over 120 months", rule("instruments: 40", "delay: first day of month after 121 months"),
			`line 6: entry_into_force.delay: invalid period "first day of month after 121 months": 121 months is too long: at most 120 months (a period is at most 3660 days, 120 months or 10 years)`},
		{"just over 3660 days", rule("instruments: 40", "delay: 90 days", "later_parties: 3661 days"),
			`line 7: entry_into_force.later_parties: invalid period "3661 days": 3661 days is too long: at most 3660 days (a period is at most 3660 days, 120 months or 10 years)`},
		{"withdrawal after eleven years", hanoiYAML + "withdrawal: {takes_effect: 11 years}\n",
			`line 7: withdrawal.takes_effect: invalid period "11 years": 11 years is too long: at most 10 years (a period is at most 3660 days, 120 months or 10 years)`},
		{"signed period", rule("instruments: 40", "delay: +90 days"),
			`line 6: entry_into_force.delay: invalid period "+90 days": "+90" is not a number written with the digits 0-9 (no sign, no separator); want "N days", "N months", "N years" or "first day of month after N days|months|years"`},
		{"negative period", rule("instruments: 40", "delay: -1 days"),
			`line 6: entry_into_force.delay: invalid period "-1 days": "-1" is not a number written with the digits 0-9 (no sign, no separator); want "N days", "N months", "N years" or "first day of month after N days|months|years"`},
		{"period with an underscore", rule("instruments: 40", "delay: 9_0 days"),
			`line 6: entry_into_force.delay: invalid period "9_0 days": "9_0" is not a number written with the digits 0-9 (no sign, no separator); want "N days", "N months", "N years" or "first day of month after N days|months|years"`},
		{"period with a leading zero", rule("instruments: 40", "delay: 090 days"),
			`line 6: entry_into_force.delay: invalid period "090 days": write 90 without leading zeros`},
		// Numbers.
		{"no instruments", rule("instruments: 0", "delay: 90 days"),
			`line 5: entry_into_force.instruments: is 0; want a whole number from 1 to 1000, or "N/M of parent parties" for an amendment or protocol`},
		{"absurdly many instruments", rule("instruments: 1001", "delay: 90 days"),
			`line 5: entry_into_force.instruments: is 1001; want a whole number from 1 to 1000, or "N/M of parent parties" for an amendment or protocol`},
		{"hexadecimal instruments", rule("instruments: 0x28", "delay: 90 days"),
			`line 5: entry_into_force.instruments: want a whole number written with the digits 0-9 (such as 40), got the number 0x28`},
		{"share over 100 per cent", rule("instruments: 55", "share: {name: emissions, at_least: 100.5, weights: {China: 20.09}}", "delay: 30 days"),
			`line 6: entry_into_force.share.at_least: is 100.5; want a percentage above 0 and at most 100`},
		{"share of zero", rule("instruments: 55", "share: {name: emissions, at_least: 0, weights: {China: 20.09}}", "delay: 30 days"),
			`line 6: entry_into_force.share.at_least: is 0; want a percentage above 0 and at most 100`},
		{"share of NaN", rule("instruments: 55", "share: {name: emissions, at_least: .nan, weights: {China: 20.09}}", "delay: 30 days"),
			`line 6: entry_into_force.share.at_least: want a number written with the digits 0-9 and an optional decimal point (such as 55 or 0.05), got the number .nan`},
		{"share of infinity", rule("instruments: 55", "share: {name: emissions, at_least: .inf, weights: {China: 20.09}}", "delay: 30 days"),
			`line 6: entry_into_force.share.at_least: want a number written with the digits 0-9 and an optional decimal point (such as 55 or 0.05), got the number .inf`},
		{"share in exponent notation", rule("instruments: 55", "share: {name: emissions, at_least: 5.5e1, weights: {China: 20.09}}", "delay: 30 days"),
			`line 6: entry_into_force.share.at_least: want a number written with the digits 0-9 and an optional decimal point (such as 55 or 0.05), got the number 5.5e1`},
		{"share no weights can reach", rule("instruments: 55", "share: {name: emissions, at_least: 55, weights: {China: 20.09, United States of America: 17.89}}", "delay: 30 days"),
			`line 6: entry_into_force.share.at_least: is 55, more than all the weights together (37.98): the condition could never be met`},
		{"weight over 100", rule("instruments: 55", "share: {name: emissions, at_least: 55, weights: {China: 120}}", "delay: 30 days"),
			`line 6: entry_into_force.share.weights.China: weight 120 is not a percentage from 0 to 100`},
		{"group at_least over its size", rule("instruments: 44", "group: {name: Annex 2 States, at_least: 3, members: [Algeria, Argentina]}", "delay: 180 days"),
			`line 6: entry_into_force.group.at_least: is 3; want between 1 and the 2 members listed`},
		{"group at_least of zero", rule("instruments: 44", "group: {name: Annex 2 States, at_least: 0, members: [Algeria, Argentina]}", "delay: 180 days"),
			`line 6: entry_into_force.group.at_least: is 0; want between 1 and the 2 members listed`},
		{"fraction over 100ths", "id: XVIII-16-a\ntitle: Amendment\nparent: XVIII-16\nentry_into_force: {instruments: 3/1000 of parent parties, delay: 90 days}\n",
			`line 4: entry_into_force.instruments: want a whole number from 1 to 1000, or "N/M of parent parties" for an amendment or protocol; got "3/1000 of parent parties"`},
		// Treaty ids.
		{"id that is a path", strings.Replace(hanoiYAML, "id: XVIII-16", "id: ../../etc/passwd", 1),
			`line 1: id: invalid treaty id "../../etc/passwd": '.' (U+002E) at byte 0 is not allowed; a treaty id has letters, digits, '-' and '.', starts with a letter or digit, and is at most 40 characters long (e.g. XVIII-16, XXVII-7-d)`},
		{"id with a slash", strings.Replace(hanoiYAML, "id: XVIII-16", "id: a/b", 1),
			`line 1: id: invalid treaty id "a/b": '/' (U+002F) at byte 1 is not allowed; a treaty id has letters, digits, '-' and '.', starts with a letter or digit, and is at most 40 characters long (e.g. XVIII-16, XXVII-7-d)`},
		{"id with a space and quotes", strings.Replace(hanoiYAML, "id: XVIII-16", `id: "XVIII 16"`, 1),
			`line 1: id: invalid treaty id "XVIII 16": ' ' (U+0020) at byte 5 is not allowed; a treaty id has letters, digits, '-' and '.', starts with a letter or digit, and is at most 40 characters long (e.g. XVIII-16, XXVII-7-d)`},
		{"id with an escaped NUL", strings.Replace(hanoiYAML, "id: XVIII-16", `id: "XVIII-16\0"`, 1),
			`line 1: id: control character U+0000 NULL at byte 8 is not allowed`},
		{"id too long", strings.Replace(hanoiYAML, "id: XVIII-16", "id: "+strings.Repeat("XVIII-16-", 5), 1),
			`line 1: id: invalid treaty id "XVIII-16-XVIII-16-XVIII-16-XVIII-16-XVIII-16-": it is 45 bytes long; a treaty id has letters, digits, '-' and '.', starts with a letter or digit, and is at most 40 characters long (e.g. XVIII-16, XXVII-7-d)`},
		{"parent outside the grammar", hanoiYAML + "parent: XVIII/16\n",
			`line 7: parent: invalid treaty id "XVIII/16": '/' (U+002F) at byte 5 is not allowed; a treaty id has letters, digits, '-' and '.', starts with a letter or digit, and is at most 40 characters long (e.g. XVIII-16, XXVII-7-d)`},
		// Text fields.
		{"bidi override in the title", strings.Replace(hanoiYAML, "title: United Nations Convention against Cybercrime", `title: "United Nations Convention against \u202eemirc rebyC"`, 1),
			`line 2: title: bidirectional formatting character U+202E RIGHT-TO-LEFT OVERRIDE at byte 34 is not allowed`},
		{"line feed in the short title", hanoiYAML + "short_title: \"Hanoi\\nConvention\"\n",
			`line 7: short_title: control character U+000A LINE FEED at byte 5 is not allowed in a one-line field`},
		{"zero width space in a source", hanoiYAML + "sources: [\"https://treaties.un.org/\\u200b\"]\n",
			`line 7: sources[0]: invisible format character U+200B ZERO WIDTH SPACE at byte 24 is not allowed`},
		{"NUL in the clause", hanoiYAML + "clause: \"This Convention\\0 shall enter into force\"\n",
			`line 7: clause: control character U+0000 NULL at byte 15 is not allowed`},
		{"isolate in the depositary", hanoiYAML + "depositary: \"Secretary-General\\u2066\"\n",
			`line 7: depositary: bidirectional formatting character U+2066 LEFT-TO-RIGHT ISOLATE at byte 17 is not allowed`},
		{"bidi in a group member", rule("instruments: 44", "group: {name: Annex 2 States, at_least: 1, members: [\"Alg\\u202eeria\"]}", "delay: 180 days"),
			`line 6: entry_into_force.group.members[0]: bidirectional formatting character U+202E RIGHT-TO-LEFT OVERRIDE at byte 3 is not allowed`},
		// The file itself.
		{"raw bidi override, even in a comment", hanoiYAML + "# harmless \u202e comment\n",
			`line 7: column 12: bidirectional formatting character U+202E RIGHT-TO-LEFT OVERRIDE at byte 149 is not allowed anywhere in a treaty definition, not even in a comment`},
		{"raw invalid UTF-8", hanoiYAML + "short_title: Hano\xefi\n",
			`line 7: column 18: invalid UTF-8 (byte 0xEF at byte 155): a treaty definition is UTF-8 text`},
		{"raw NUL", hanoiYAML + "short_title: Hanoi\x00\n",
			`line 7: column 19: control character U+0000 NULL at byte 156 is not allowed anywhere in a treaty definition, not even in a comment`},
		{"a tab for indentation", strings.Replace(hanoiYAML, "  delay", "\tdelay", 1),
			`line 6: column 1: tab character (U+0009): indent and separate with spaces`},
		{"a second document", hanoiYAML + "---\nid: XVIII-14\ntitle: United Nations Convention against Corruption\n",
			`line 8: a second YAML document (after ---): a treaty definition file holds exactly one treaty`},
		{"anchors and aliases", "id: &id XVIII-16\ntitle: *id\nentry_into_force: {instruments: 40, delay: 90 days}\n",
			"line 1: anchor &id: anchors and aliases are not allowed in a treaty definition; write the value where it is used\nline 2: alias *id: anchors and aliases are not allowed in a treaty definition; write the value where it is used"},
		{"a merge key", hanoiYAML + "withdrawal: {<<: {takes_effect: 1 year}}\n",
			"line 7: withdrawal.<<: unknown key (known: takes_effect)\nline 7: withdrawal.takes_effect: missing required key"},
		{"an explicit tag", hanoiYAML + "short_title: !!binary SGFub2k=\n",
			`line 7: explicit tag !!binary: tags are not allowed in a treaty definition; quote the value to make it text`},
		{"duplicate keys", hanoiYAML + "title: Hanoi Convention\n",
			`line 7: title: duplicate key (first given on line 2)`},
		{"a list at the top", "- id: XVIII-16\n- title: Hanoi\n",
			`line 1: want a mapping of id, title, short_title, depositary, adopted, signature, requires_signature, entry_into_force, withdrawal, parent, clause, sources, got a list`},
		{"a bare word at the top", "XVIII-16\n",
			`line 1: want a mapping of id, title, short_title, depositary, adopted, signature, requires_signature, entry_into_force, withdrawal, parent, clause, sources, got "XVIII-16"`},
		{"a file over 1 MiB", hanoiYAML + "clause: " + strings.Repeat("x", 1<<20) + "\n",
			`the file is 1048723 bytes long; a treaty definition is at most 1048576 bytes`},
		// Dates.
		{"signature opening before the adoption", hanoiYAML + "signature: {opens: 2024-12-23}\n",
			`line 7: signature.opens: 2024-12-23 is before the treaty's adoption (2024-12-24): a treaty opens for signature once adopted`},
		{"a signed date", strings.Replace(hanoiYAML, "adopted: 2024-12-24", `adopted: "2024-+1-24"`, 1),
			`line 3: adopted: invalid date "2024-+1-24": want YYYY-MM-DD with the digits 0-9 only`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := treatyfile.Parse([]byte(tc.yaml), nil, dir)
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, events.ErrInvalid) || errors.Is(err, events.ErrNotFound) {
				t.Errorf("error %v: want events.ErrInvalid only", err)
			}
			if err.Error() != tc.msg {
				t.Errorf("message\n  %s\nwant\n  %s", err, tc.msg)
			}
		})
	}
	t.Run("an alias bomb is refused at once", func(t *testing.T) {
		_, err := treatyfile.Parse([]byte(bomb), nil, dir)
		if err == nil || !strings.HasPrefix(err.Error(), "line 3: anchor &a: anchors and aliases are not allowed") {
			t.Fatalf("err = %v", err)
		}
	})
}
