// Reads Markdown: heading outlines, links and images with their line numbers, and tables
// of contents. Code blocks (fenced or indented) are skipped: what they hold is not markup.
import { tool } from '@berth/plugin-sdk';
import { z } from 'zod';

export interface Heading {
  level: number;
  text: string;
  line: number;
  /** GitHub-style anchor, unique within the document. */
  anchor: string;
  children: Heading[];
}

export interface Link {
  kind: 'link' | 'image' | 'autolink' | 'definition';
  text: string;
  url: string;
  title?: string;
  line: number;
}

/** The document's lines outside code blocks, with their 1-based numbers. */
function proseLines(markdown: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let fence: string | null = null;
  markdown.split(/\r\n|\r|\n/).forEach((text, i) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(text);
    if (fence !== null) {
      if (marker && marker[1][0] === fence[0] && marker[1].length >= fence.length && text.trim() === marker[1]) fence = null;
      return;
    }
    if (marker) {
      fence = marker[1];
      return;
    }
    if (/^( {4}|\t)/.test(text) && (out.length === 0 || out[out.length - 1].text.trim() === '')) return;
    out.push({ text, line: i + 1 });
  });
  return out;
}

/** Inline markup removed: what a reader sees of a heading. */
function plain(text: string): string {
  return text
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]*)\]\[[^\]]*\]/g, '$1')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/(\*\*|__)(.*?)\1/g, '$2')
    .replace(/(\*|_)(.*?)\1/g, '$2')
    .trim();
}

// ASCII punctuation except `-` and `_`. (Not `\p{…}` classes: the component's JS engine
// is built without Unicode property escapes.)
function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[!-,./:-@[-^`{-~]/g, '')
    .trim()
    .replace(/\s/g, '-');
}

/** Every heading (ATX `#` and setext underlined), in order, with unique anchors. */
export function headings(markdown: string): Omit<Heading, 'children'>[] {
  const lines = proseLines(markdown);
  const found: Omit<Heading, 'children'>[] = [];
  const used = new Map<string, number>();
  const add = (level: number, raw: string, line: number) => {
    const text = plain(raw);
    if (!text) return;
    const base = slug(text);
    const n = used.get(base) ?? 0;
    used.set(base, n + 1);
    found.push({ level, text, line, anchor: n === 0 ? base : `${base}-${n}` });
  };
  lines.forEach(({ text, line }, i) => {
    const atx = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/.exec(text);
    if (atx) return add(atx[1].length, atx[2] ?? '', line);
    const next = lines[i + 1];
    if (next && next.line === line + 1 && text.trim() !== '' && !/^ {0,3}([-*+]|\d+[.)]|>)/.test(text)) {
      if (/^ {0,3}=+[ \t]*$/.test(next.text)) return add(1, text, line);
      if (/^ {0,3}-+[ \t]*$/.test(next.text)) return add(2, text, line);
    }
  });
  return found;
}

/** Nests headings: each under the nearest earlier heading of a smaller level. */
export function tree(flat: Omit<Heading, 'children'>[]): Heading[] {
  const roots: Heading[] = [];
  const stack: Heading[] = [];
  for (const h of flat) {
    const node: Heading = { ...h, children: [] };
    while (stack.length && stack[stack.length - 1].level >= node.level) stack.pop();
    (stack.length ? stack[stack.length - 1].children : roots).push(node);
    stack.push(node);
  }
  return roots;
}

/** Links, images, autolinks and reference definitions, with their lines. */
export function links(markdown: string): Link[] {
  const out: Link[] = [];
  for (const { text, line } of proseLines(markdown)) {
    const def = /^ {0,3}\[([^\]]+)\]:\s*<?([^\s>]+)>?(?:\s+["'(](.*)["')])?\s*$/.exec(text);
    if (def) {
      out.push({ kind: 'definition', text: def[1], url: def[2], ...(def[3] ? { title: def[3] } : {}), line });
      continue;
    }
    const code = text.replace(/`[^`]*`/g, (m) => ' '.repeat(m.length));
    const inline = /(!?)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^\s)>]*)>?(?:\s+["'(]([^"')]*)["')])?\s*\)/g;
    for (let m; (m = inline.exec(code)); ) {
      out.push({ kind: m[1] ? 'image' : 'link', text: plain(m[2]), url: m[3], ...(m[4] ? { title: m[4] } : {}), line });
    }
    const auto = /<((?:https?|mailto|ftp):[^\s>]+)>/g;
    for (let m; (m = auto.exec(code)); ) out.push({ kind: 'autolink', text: m[1], url: m[1], line });
  }
  return out;
}

/** A table of contents: a nested Markdown list of links to the headings. */
export function toc(markdown: string, maxDepth = 6): string {
  const flat = headings(markdown).filter((h) => h.level <= maxDepth);
  if (flat.length === 0) return '';
  const lines: string[] = [];
  const depth: number[] = [];
  for (const h of flat) {
    // Indent under the nearest shallower heading, never deeper than one level past it.
    while (depth.length && depth[depth.length - 1] >= h.level) depth.pop();
    const indent = depth.length;
    depth.push(h.level);
    lines.push(`${'  '.repeat(indent)}- [${h.text.replace(/([\[\]])/g, '\\$1')}](#${h.anchor})`);
  }
  return lines.join('\n');
}

const markdownField = { type: 'string', description: 'The Markdown text.' } as const;

tool({
  name: 'outline',
  title: 'Outline',
  description: 'The heading tree of a Markdown document: each heading with its level, text, line number, anchor and sub-headings.',
  input: z.object({ markdown: z.string().describe('The Markdown text.') }),
  annotations: { readOnly: true, idempotent: true, openWorld: false },
  run: ({ markdown }) => {
    const flat = headings(markdown);
    return { count: flat.length, headings: tree(flat) };
  },
});

tool({
  name: 'links',
  title: 'Links and images',
  description: 'Every link, image, autolink and reference definition in a Markdown document, with its line number. Code is skipped.',
  input: { type: 'object', properties: { markdown: markdownField }, required: ['markdown'], additionalProperties: false },
  annotations: { readOnly: true, idempotent: true, openWorld: false },
  run: ({ markdown }: { markdown: string }) => ({ links: links(markdown) }),
});

tool({
  name: 'toc',
  title: 'Table of contents',
  description: 'A table of contents for a Markdown document, as a nested Markdown list linking to GitHub-style heading anchors.',
  input: {
    type: 'object',
    properties: {
      markdown: markdownField,
      max_depth: { type: 'integer', minimum: 1, maximum: 6, description: 'Deepest heading level to include (default 6).' },
    },
    required: ['markdown'],
    additionalProperties: false,
  },
  annotations: { readOnly: true, idempotent: true, openWorld: false },
  run: ({ markdown, max_depth }: { markdown: string; max_depth?: number }) => toc(markdown, max_depth ?? 6),
});
