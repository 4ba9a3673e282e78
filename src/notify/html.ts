// The Matrix HTML sink: a notice's formatted_body, sanitised to an allow-list. The reports escape
// every untrusted value before Markdown is rendered (src/report/escape.ts); this is the second
// wall, so that a value that slipped through still cannot become an image, a link elsewhere, a
// script, a style, a form or a pill. Loaded only when a notice is sent.
import sanitizeHtml from "sanitize-html";
import { neutralizeRoomMention } from "../report/escape.js";

/**
 * The tags are the Matrix specification's suggested set for `org.matrix.custom.html`
 * (m.room.message msgtypes), less what a report never needs and an attacker would: no `img`
 * (remote or `mxc://`: a tracking pixel or a picture forged into the report), no `font`/`span`
 * colours, no `mx-reply`. Attributes: `href` on links, `start` on ordered lists, a `language-*`
 * class on code (what marked writes for a fenced block).
 */
const OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: [
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "p",
    "a",
    "ul",
    "ol",
    "li",
    "sup",
    "sub",
    "b",
    "i",
    "u",
    "strong",
    "em",
    "s",
    "del",
    "code",
    "pre",
    "hr",
    "br",
    "div",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "caption",
    "details",
    "summary",
  ],
  allowedAttributes: { a: ["href"], ol: ["start"], code: ["class"] },
  allowedClasses: { code: ["language-*"] },
  // Links only to https (the report's own link to its workflow run): no http, mailto, javascript,
  // data, or relative and protocol-relative URLs. A link left without an href is plain text.
  allowedSchemes: ["https"],
  allowedSchemesByTag: {},
  allowedSchemesAppliedToAttributes: ["href"],
  allowProtocolRelative: false,
  // A forbidden tag goes, its text stays (escaped); script, style and the like go with their content.
  disallowedTagsMode: "discard",
  // Clients that predate m.mentions also read `@room` in the HTML as a room mention pill.
  textFilter: (text) => neutralizeRoomMention(text),
};

/** A notice's formatted_body, reduced to the allow-list above. */
export function sanitizeMatrixHtml(html: string): string {
  return sanitizeHtml(html, OPTIONS);
}
