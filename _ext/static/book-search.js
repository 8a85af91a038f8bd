/*
 * The book's search page (loaded on search.html only, by _ext/book_site.py).
 *
 * Sphinx's own search looks query words up in an index that jieba segmented at build time, but it does
 * not segment the query: 反向传播 is one "word" in the box and two terms (反向, 传播) in the index, so it
 * found nothing. Here the query words are looked up in the text itself (searchdata.js: every section's
 * title, paragraphs and code), as case-insensitive substrings, so any run of characters that is in the
 * book is found. A CJK word that occurs nowhere verbatim ("反向传播算法") is segmented by greedy
 * longest match over the index's own terms and each piece is looked up. Pages are ranked by where the
 * words occur (page title, headings) and how often; the snippet is the paragraph that contains them.
 * Nothing is fetched: the data is a script, so a file:// copy of the site searches too.
 */
"use strict";

const BookSearch = {
  data: null,
  dictionary: null,
  maxWordLength: 1,

  setData(data) {
    for (const doc of data.docs) {
      doc.lowerTitle = doc.title.toLowerCase();
      for (const s of doc.sections) {
        s.lowerTitle = s.t.toLowerCase();
        s.lowerProse = s.p.map((x) => x.toLowerCase());
        s.lowerCode = s.c.map((x) => x.toLowerCase());
      }
    }
    BookSearch.data = data;
  },

  isCJK: (text) => /[\u3400-\u9fff\uf900-\ufaff]/u.test(text),

  /* Query -> words: NFKC folds full-width letters; split at spaces and punctuation (not . _ - + # =,
   * which occur inside code names such as nn.Module, requires_grad, c++). */
  words(query) {
    const q = query.normalize("NFKC").toLowerCase().trim();
    const parts = q.split(/[\s,，。、；;：:!！?？"“”'‘’()（）\[\]【】《》<>{}|/\\]+/u);
    return [...new Set(parts.filter((w) => w && !/^-+$/.test(w)))];
  },

  /* Greedy longest match of a CJK run over the terms of Sphinx's index (jieba's words for this book). */
  segment(word) {
    if (BookSearch.dictionary === null) {
      const dict = new Set();
      const index = typeof Search !== "undefined" ? Search._index : null;
      if (index) {
        for (const table of [index.terms, index.titleterms]) {
          for (const term of Object.keys(table || {})) {
            if (term.length > 1 && BookSearch.isCJK(term)) {
              dict.add(term);
              BookSearch.maxWordLength = Math.max(BookSearch.maxWordLength, term.length);
            }
          }
        }
      }
      BookSearch.dictionary = dict;
    }
    const dict = BookSearch.dictionary;
    const pieces = [];
    for (const run of word.match(/[\u3400-\u9fff\uf900-\ufaff]+|[^\u3400-\u9fff\uf900-\ufaff]+/gu) || []) {
      if (!BookSearch.isCJK(run)) {
        pieces.push(run);
        continue;
      }
      let i = 0;
      while (i < run.length) {
        let taken = 0;
        for (let n = Math.min(BookSearch.maxWordLength, run.length - i); n > 1; n--) {
          if (dict.has(run.substr(i, n))) {
            taken = n;
            break;
          }
        }
        if (taken) pieces.push(run.substr(i, taken));
        i += taken || 1; // a character that starts no known word (的, 和, 是 ...) is dropped
      }
    }
    return pieces;
  },

  count(haystack, needle) {
    let n = 0;
    for (let i = haystack.indexOf(needle); i !== -1; i = haystack.indexOf(needle, i + needle.length)) n++;
    return n;
  },

  sectionCount(s, word) {
    let n = BookSearch.count(s.lowerTitle, word);
    for (const p of s.lowerProse) n += BookSearch.count(p, word);
    for (const c of s.lowerCode) n += BookSearch.count(c, word);
    return n;
  },

  docCount(doc, word) {
    let n = 0;
    for (const s of doc.sections) n += BookSearch.sectionCount(s, word);
    return n;
  },

  /* The words to look for: each query word as typed if the book contains it, else its segments. */
  terms(query) {
    const docs = BookSearch.data.docs;
    const terms = [];
    for (const word of BookSearch.words(query)) {
      const found = docs.some((d) => d.lowerTitle.includes(word) || BookSearch.docCount(d, word) > 0);
      if (found || !BookSearch.isCJK(word)) terms.push(word);
      else terms.push(...BookSearch.segment(word));
    }
    return [...new Set(terms)];
  },

  /* How much of a heading the word covers: 1 for a heading that is the word (plus its English). */
  headingCover(title, word) {
    if (!title.includes(word)) return 0;
    const core = title.replace(/^\d+(\.\d+)*\.?\s*/, "").replace(/\s*[(（][^()（）]*[)）]\s*$/, "");
    return Math.min(1, word.length / Math.max(1, core.length));
  },

  /* Per word: occurrences (log), page title, the best heading; rarer and longer words weigh more. */
  score(doc, terms, idf) {
    let score = 0;
    let matched = 0;
    for (const t of terms) {
      const n = BookSearch.docCount(doc, t) + BookSearch.count(doc.lowerTitle, t);
      if (!n) continue;
      matched++;
      let s = 10 * Math.log2(1 + n);
      if (doc.lowerTitle.includes(t)) s += 30 + 20 * BookSearch.headingCover(doc.lowerTitle, t);
      const cover = Math.max(0, ...doc.sections.slice(1).map((sec) => BookSearch.headingCover(sec.lowerTitle, t)));
      if (cover > 0) s += 5 + 25 * cover;
      score += s * idf[t] * (Math.min(t.length, 4) / 4); // longer words are more specific
    }
    if (terms.length > 1) {
      // several words (typed, or pieces of a segmented phrase): better when one paragraph has them all
      let together = 0;
      for (const sec of doc.sections)
        for (const para of sec.lowerProse)
          together = Math.max(together, terms.filter((t) => para.includes(t)).length);
      score += 40 * (together / terms.length) ** 2;
    }
    return [matched, score];
  },

  /* The section to link and quote: one whose text (not only its heading) has the most query words. */
  bestSection(doc, terms) {
    let best = doc.sections[0];
    let bestScore = -1;
    for (const s of doc.sections) {
      let sc = 0;
      for (const t of terms) {
        const inTitle = s.lowerTitle.includes(t);
        const n = BookSearch.sectionCount(s, t) - (inTitle ? BookSearch.count(s.lowerTitle, t) : 0);
        if (n) sc += 1000 + Math.min(n, 50) + (inTitle ? 100 : 0);
        else if (inTitle) sc += 10;
      }
      if (sc > bestScore) [best, bestScore] = [s, sc];
    }
    return best;
  },

  /* The paragraph (or, failing that, the code) of the section with the most query words. */
  snippet(section, terms) {
    let best = null;
    let bestCount = 0;
    const candidates = [
      ...section.p.map((text, i) => [text, section.lowerProse[i], 1.5]),
      ...section.c.map((text, i) => [text, section.lowerCode[i], 1]),
    ];
    for (const [text, lower, weight] of candidates) {
      const n = terms.reduce((acc, t) => acc + (lower.includes(t) ? 1 : 0), 0) * weight;
      if (n > bestCount) [best, bestCount] = [[text, lower], n];
    }
    if (best === null) return section.p.length ? section.p[0].slice(0, 200) : "";
    const [text, lower] = best;
    const first = Math.min(...terms.map((t) => lower.indexOf(t)).filter((i) => i >= 0));
    const start = Math.max(0, first - 60);
    const end = Math.min(text.length, start + 220);
    return (start > 0 ? "…" : "") + text.slice(start, end) + (end < text.length ? "…" : "");
  },

  escape: (s) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]),

  highlight(text, terms) {
    const sorted = [...terms].sort((a, b) => b.length - a.length).map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    if (!sorted.length) return BookSearch.escape(text);
    const re = new RegExp(`(${sorted.join("|")})`, "giu");
    return text
      .split(re)
      .map((part, i) => (i % 2 ? `<mark>${BookSearch.escape(part)}</mark>` : BookSearch.escape(part)))
      .join("");
  },

  /* [{doc, title, section, anchor, snippet, score, partial}], best first. */
  find(query) {
    const terms = BookSearch.terms(query);
    if (!terms.length || !BookSearch.data) return { terms, results: [] };
    const docs = BookSearch.data.docs;
    const idf = {};
    for (const t of terms) {
      const df = docs.filter((d) => d.lowerTitle.includes(t) || BookSearch.docCount(d, t) > 0).length;
      idf[t] = Math.log(1 + docs.length / Math.max(1, df));
    }
    const scored = docs
      .map((doc) => [doc, ...BookSearch.score(doc, terms, idf)])
      .filter(([, matched]) => matched > 0);
    const most = Math.max(0, ...scored.map(([, matched]) => matched));
    const results = scored
      .filter(([, matched]) => matched === most) // every word if any page has them all
      .sort((a, b) => b[2] - a[2] || a[0].doc.localeCompare(b[0].doc))
      .map(([doc, , score]) => {
        const section = BookSearch.bestSection(doc, terms);
        return {
          doc: doc.doc,
          title: doc.title,
          section: section.a ? section.t : "",
          anchor: section.a ? `#${section.a}` : "",
          snippet: BookSearch.snippet(section, terms),
          score: Math.round(score * 10) / 10,
          partial: most < terms.length,
        };
      });
    return { terms, results };
  },

  /* Replaces Search.query of Sphinx's searchtools.js (same page elements, same messages). */
  query(query) {
    const { terms, results } = BookSearch.find(query);
    if (typeof SPHINX_HIGHLIGHT_ENABLED !== "undefined" && SPHINX_HIGHLIGHT_ENABLED)
      localStorage.setItem("sphinx_highlight_terms", terms.join(" ")); // highlighted on the page opened
    const suffix = DOCUMENTATION_OPTIONS.LINK_SUFFIX;
    for (const r of results) {
      const li = document.createElement("li");
      const a = li.appendChild(document.createElement("a"));
      a.href = r.doc + suffix + r.anchor;
      a.dataset.score = r.score;
      a.textContent = r.section ? `${r.title} › ${r.section}` : r.title;
      const p = li.appendChild(document.createElement("p"));
      p.className = "context";
      p.innerHTML = BookSearch.highlight(r.snippet, terms);
      Search.output.appendChild(li);
    }
    Search.stopPulse();
    Search.title.innerText = _("Search Results");
    if (!results.length)
      Search.status.innerText = Documentation.gettext(
        "Your search did not match any documents. Please make sure that all words are spelled correctly and that you've selected enough categories."
      );
    else {
      Search.status.innerText = _("Search finished, found ${resultCount} page(s) matching the search query.").replace(
        "${resultCount}",
        results.length
      );
      if (results[0].partial) Search.status.innerText += ` (${terms.join(" ")})`;
    }
  },
};

// searchtools.js comes after this file and calls Search.query on DOMContentLoaded: take its place first.
document.addEventListener("DOMContentLoaded", () => {
  if (typeof Search !== "undefined") Search.query = BookSearch.query;
});
