/* The embeddable help widget: one <script src=".../help/widget.js" defer> adds a help
   launcher and a search/article panel to a host page (see docs/widget.md).

   A custom element with an open shadow root; styles are adopted by that root. Server
   strings only reach the page as text, as <mark> rebuilt from text, or (article HTML,
   already sanitized by the portal) through an allowlist re-check of an inert parse. */

const TAG = "selfservice-widget";
const CSS = __CSS__; // the minified widget.css, put here by build.mjs
const FAIL = "We couldn't send your answer. Please try again.";
const NEW_TAB = "(opens in a new tab)";
const UNSENT = "We couldn't send your message. Please try again, or use the full contact form.";
// Worth asking /api/answer: a question word, a question mark, or three words or more.
const QUESTION = /\?|^(how|what|why|when|where|who|which|can|could|do|does|did|is|are|should|will|would|i)\b|\S+\s+\S+\s+\S/i;
const plural = (n, one, many) => [n === 1 ? one : many, { num: n }];

const script = document.currentScript || document.querySelector('script[src*="/widget.js"]');
const DATA = script ? { ...script.dataset } : {};
const BASE = script ? baseOf(script.src) : "";

function baseOf(src) {
  const u = new URL(src, location.href);
  return u.origin + u.pathname.replace(/\/widget\.js$/, "").replace(/\/+$/, "");
}

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
};
const enc = encodeURIComponent;

/** An absolute http(s)/mailto URL, or null for anything else (javascript:, data:, ...). */
function safeUrl(value, base) {
  try {
    const u = new URL(value, base + "/");
    return /^(https?|mailto):$/.test(u.protocol) ? u.href : null;
  } catch {
    return null;
  }
}

/** A fragment holding only the text of `html`, with its <mark>s rebuilt from their text. */
function marked(html) {
  const t = el("template");
  t.innerHTML = html; // inert: nothing runs or loads
  const out = document.createDocumentFragment();
  for (const n of t.content.childNodes) {
    if (n.localName === "mark") out.append(el("mark", "", n.textContent));
    else if (n.nodeType !== 8) out.append(n.textContent);
  }
  return out;
}

const KEEP = new Set(
  "a abbr b blockquote br caption code dd del details div dl dt em figcaption figure h1 h2 h3 h4 h5 h6 hr i img ins kbd li mark ol p pre q s section small span strong sub summary sup table tbody td tfoot th thead tr u ul".split(" "),
);
const DROP = new Set("script style template iframe object embed svg math noscript form input button select textarea link meta base title".split(" "));
const ATTRS = new Set("href src alt title id colspan rowspan start scope lang dir width height open".split(" "));

/** Article HTML re-checked against an allowlist: unknown tags unwrapped, links made absolute. */
function sanitize(html, base) {
  const t = el("template");
  t.innerHTML = html;
  const walk = (parent) => {
    for (const n of [...parent.childNodes]) {
      if (n.nodeType === 3) continue;
      const tag = n.nodeType === 1 && n.localName;
      if (!tag || DROP.has(tag)) {
        n.remove();
        continue;
      }
      walk(n);
      if (!KEEP.has(tag)) {
        n.replaceWith(...n.childNodes);
        continue;
      }
      for (const { name, value } of [...n.attributes]) {
        if (!ATTRS.has(name)) n.removeAttribute(name);
        else if ((name === "href" && value[0] !== "#") || name === "src") {
          const u = safeUrl(value, base);
          u ? n.setAttribute(name, u) : n.removeAttribute(name);
        }
      }
      if (tag === "a" && /^[hm]/.test(n.getAttribute("href") || "")) {
        n.target = "_blank";
        n.rel = "noopener";
      }
    }
  };
  walk(t.content);
  return t.content;
}

const HTML = `<button class="launcher" type="button" part="launcher" aria-haspopup="dialog" aria-expanded="false" aria-controls="panel"><svg viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"><circle cx="12" cy="12" r="10"/><path d="M9.1 9a3 3 0 0 1 5.8 1c0 2-3 3-3 3M12 17h.01"/></svg><span></span></button>
<div class="backdrop" hidden></div>
<div class="panel" id="panel" part="panel" role="dialog" aria-modal="true" aria-labelledby="heading" hidden>
<header><button class="back" type="button" hidden>‹ Back</button><h2 id="heading"></h2><button class="close" type="button" aria-label="Close">×</button></header>
<div class="body">
<section class="search"><label class="sr" for="q">Search help articles</label><input id="q" type="search" autocomplete="off" spellcheck="false" placeholder="Search for answers…">
<section class="ans" aria-labelledby="ansh" hidden><h3 class="lh" id="ansh">Quick answer</h3><p class="atext"></p><a class="alink"></a></section>
<h3 class="lh" id="ach" hidden>Quick actions</h3><ul class="list acts" aria-labelledby="ach" hidden></ul>
<h3 class="lh" id="lh" hidden></h3><ul class="list res" aria-labelledby="lh" aria-busy="false" hidden></ul><p class="msg smsg" hidden></p><p class="all" hidden><a target="_blank" rel="noopener">See all results in the help centre</a></p></section>
<article hidden aria-labelledby="at"><h3 class="title" id="at" tabindex="-1"></h3><p class="msg amsg" hidden></p><div class="content"></div>
<p><a class="open" target="_blank" rel="noopener">Open in help centre</a></p>
<div class="row fb"><span id="fbq">Was this helpful?</span><button class="btn" type="button" value="1" aria-describedby="fbq">Yes</button><button class="btn" type="button" value="" aria-describedby="fbq">No</button></div><p class="fbmsg" role="status"></p></article>
<form class="rate" hidden><fieldset aria-describedby="ends"><legend tabindex="-1"></legend><div class="scale"></div><div class="ends" id="ends"><span></span><span></span></div></fieldset>
<label class="sr" for="comment">Comment (optional)</label><textarea id="comment" name="comment" maxlength="2000" placeholder="Anything you'd like to add? (optional)"></textarea>
<div class="row"><button class="btn primary">Send</button></div><p class="ratemsg" role="status"></p></form>
<section class="contact" aria-labelledby="ch" hidden><h3 class="title" id="ch" tabindex="-1">Contact us</h3><p class="hours msg" hidden></p>
<form novalidate><label for="ct">Topic</label><select id="ct" name="topic"></select><label for="ce">Your email address</label><input id="ce" name="email" type="email" autocomplete="email" maxlength="254">
<label for="cs">Subject</label><input id="cs" name="subject" maxlength="200"><label for="cm">Your message</label><textarea id="cm" name="message" maxlength="5000"></textarea>
<p class="err cerr" id="cerr" hidden></p><div class="row"><button class="btn primary">Send message</button></div><p class="msg cmsg" role="status"></p></form>
<div class="sent" hidden><p class="ref" tabindex="-1"></p><p class="msg">We have emailed you a copy. Keep the reference to check on your request.</p><p><a class="track" target="_blank" rel="noopener">Check your request's progress<span class="sr"> ${NEW_TAB}</span></a></p></div>
<p class="msg"><a class="full" target="_blank" rel="noopener">Use the full contact form<span class="sr"> ${NEW_TAB}</span></a></p></section>
</div>
<footer><button class="btn cbtn" type="button">Contact us</button></footer><p class="sr live" role="status" aria-live="polite"></p>
</div>`;

let sheet;

class Widget extends HTMLElement {
  connectedCallback() {
    if (this.shadowRoot) return;
    for (const k in DATA) if (!(k in this.dataset)) this.dataset[k] = DATA[k];
    const d = this.dataset;
    this.base = d.base ? baseOf(d.base + "/widget.js") : BASE;
    this.same = new URL(this.base || location.href).origin === location.origin;
    if (d.accent) this.style.setProperty("--ssw-accent", d.accent);
    this.loc = d.lang || this.getAttribute("lang") || document.documentElement.lang || "";
    this.tr = {};

    const root = this.attachShadow({ mode: "open" });
    if (root.adoptedStyleSheets && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
      if (!sheet) (sheet = new CSSStyleSheet()).replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } else root.append(el("style", "", CSS));
    const t = el("template");
    t.innerHTML = HTML; // a constant: no server or host strings in it
    root.append(t.content);
    const $ = (s) => root.querySelector(s);
    Object.assign(this, {
      root,
      launcher: $(".launcher"),
      backdrop: $(".backdrop"),
      panel: $(".panel"),
      backBtn: $(".back"),
      input: $("#q"),
      lh: $("#lh"),
      list: $(".res"),
      acts: $(".acts"),
      ach: $("#ach"),
      ans: $(".ans"),
      ctc: $(".contact"),
      cform: $(".contact form"),
      smsg: $(".smsg"),
      all: $(".all"),
      art: $("article"),
      atitle: $(".title"),
      amsg: $(".amsg"),
      content: $(".content"),
      openLink: $(".open"),
      fb: $(".fb"),
      fbmsg: $(".fbmsg"),
      form: $(".rate"),
      ratemsg: $(".ratemsg"),
      live: $(".live"),
    });
    const title = d.title || this.t("Help");
    $(".launcher span").textContent = title;
    $("#heading").textContent = title;
    $(".full").href = this.base + "/contact";
    $(".cbtn").onclick = (e) => {
      this.from = e.currentTarget; // Back returns here
      this.contact();
    };
    this.cform.onsubmit = (e) => {
      e.preventDefault();
      this.submitContact();
    };

    this.launcher.onclick = () => (this.isOpen ? this.close() : this.open());
    this.backdrop.onclick = $(".close").onclick = () => this.close();
    this.backBtn.onclick = () => this.back();
    this.input.oninput = () => {
      this.list.setAttribute("aria-busy", "true");
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.search(), 200);
    };
    root.addEventListener("keydown", (e) => this.key(e));
    this.list.onclick = this.ans.onclick = (e) => this.follow(e, e.target.closest("a"), false);
    this.content.onclick = (e) => this.follow(e, e.target.closest("a[href]"), true);
    this.fb.onclick = (e) => {
      const b = e.target.closest("button");
      if (b) this.send("/api/feedback", { page: "article:" + this.slug, helpful: !!b.value }, this.fbmsg, this.t("Thanks for your feedback!"), this.fb.querySelectorAll("button"));
    };
    this.form.onsubmit = (e) => {
      e.preventDefault();
      const f = new FormData(this.form);
      const body = { score: Number(f.get("score")), comment: String(f.get("comment") || "").trim() };
      if (this.ctx) body.context = String(this.ctx);
      this.send("/api/surveys/" + this.kind, body, this.ratemsg, this.t("Thank you! Your answer has been sent."), [$(".rate .primary")]);
    };
  }

  // -- language ---------------------------------------------------------------------------
  /** `s` in the widget's language (English until /api/widget/strings answers), `%(name)s` filled from `v`. */
  t(s, v = {}) {
    return (this.tr[s] || s).replace(/%\((\w+)\)s/g, (_, k) => v[k]);
  }

  /** Once, on first opening: the strings in this language, then the static words swapped. */
  strings() {
    return (this.ready ||= this.req("/api/widget/strings")
      .then((r) => r.json())
      .then((d) => {
        this.tr = d.strings;
        this.panel.lang = d.lang;
        const w = document.createTreeWalker(this.root, 5); // elements and text
        for (let n; (n = w.nextNode()); ) {
          if (n.nodeType === 3) {
            const s = n.data.trim();
            if (s && this.tr[s]) n.data = n.data.replace(s, this.tr[s]);
          } else for (const a of ["placeholder", "aria-label"]) if (this.tr[n.getAttribute(a)]) n.setAttribute(a, this.tr[n.getAttribute(a)]);
        }
      })
      .catch(() => {})); // the English built in
  }

  /** `lang=` for a URL (after `sep`), or nothing when neither page nor host named a language. */
  q(sep) {
    return this.loc ? sep + "lang=" + enc(this.loc) : "";
  }

  // -- opening, closing, views ----------------------------------------------------------
  show(view) {
    this.view = view;
    this.root.querySelector(".search").hidden = view !== "search";
    this.art.hidden = view !== "article";
    this.form.hidden = view !== "rate";
    this.ctc.hidden = view !== "contact";
    this.root.querySelector("footer").hidden = view === "contact";
    this.backBtn.hidden = view === "search";
  }

  reveal() {
    if (this.isOpen) return;
    const active = document.activeElement;
    this.returnTo = active && active !== this ? active : null;
    this.isOpen = true;
    this.panel.hidden = this.backdrop.hidden = false;
    this.launcher.setAttribute("aria-expanded", "true");
  }

  open(query) {
    this.reveal();
    this.show("search");
    if (typeof query === "string") this.input.value = query;
    this.input.focus();
    this.strings().then(() => this.isOpen && this.view === "search" && this.search()); // suggestions for an empty box, else fresh results
  }

  close() {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.ctrl?.abort();
    this.panel.hidden = this.backdrop.hidden = true;
    this.launcher.setAttribute("aria-expanded", "false");
    const target = this.launcher.getClientRects().length ? this.launcher : this.returnTo;
    target?.focus();
  }

  back() {
    this.ctrl?.abort();
    this.show("search");
    (this.from?.getClientRects().length ? this.from : this.input).focus();
  }

  key(e) {
    if (!this.isOpen) return;
    const active = this.root.activeElement;
    if (e.key === "Escape") {
      e.preventDefault();
      this.close();
    } else if (e.key === "Tab") {
      const f = [...this.panel.querySelectorAll("a[href],button:not(:disabled),input:not(:disabled),select,textarea")].filter(
        (x) => x.getClientRects().length,
      );
      const edge = e.shiftKey ? f[0] : f[f.length - 1];
      if (active === edge || !this.panel.contains(active)) {
        e.preventDefault();
        (e.shiftKey ? f[f.length - 1] : f[0]).focus();
      }
    } else if ((e.key === "ArrowDown" || e.key === "ArrowUp") && this.view === "search") {
      const links = [...this.root.querySelectorAll(".ans a, .list a")].filter((x) => x.getClientRects().length);
      const i = links.indexOf(active);
      if (!links.length || (i < 0 && active !== this.input)) return;
      e.preventDefault();
      const next = e.key === "ArrowDown" ? links[Math.min(i + 1, links.length - 1)] : i <= 0 ? this.input : links[i - 1];
      next.focus();
    }
  }

  // -- talking to the portal ------------------------------------------------------------
  /** `lang=` goes with every call whose answer is shown (not feedback and survey POSTs). */
  req(path, init, lang = true) {
    return fetch(this.base + path + (lang ? this.q(path.includes("?") ? "&" : "?") : ""), { credentials: this.same ? "include" : "omit", ...init }).then((r) => {
      if (!r.ok) throw Object.assign(new Error("HTTP " + r.status), { status: r.status, response: r });
      return r;
    });
  }

  get(path) {
    this.ctrl?.abort();
    this.ctrl = new AbortController();
    return this.req(path, { signal: this.ctrl.signal }).then((r) => r.json());
  }

  send(path, data, out, done, buttons) {
    for (const b of buttons) b.disabled = true;
    this.note(out, this.t("Sending…"));
    this.req(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(data) }, false).then(
      () => this.note(out, done),
      () => {
        this.note(out, this.t(FAIL), true);
        for (const b of buttons) b.disabled = false;
      },
    );
  }

  say(text) {
    this.live.textContent = "";
    this.live.textContent = text;
  }

  // -- search and suggestions -----------------------------------------------------------
  search() {
    clearTimeout(this.timer);
    const q = this.input.value.trim();
    this.smsg.hidden = this.all.hidden = this.ans.hidden = true;
    if (!q) {
      this.actions([]);
      const ctx = this.dataset.context;
      const path = "/api/contextual?path=" + enc(location.pathname) + (ctx ? "&context=" + enc(ctx) : "");
      this.get(path).then((d) => this.fill(d.results, this.t("Suggested for this page")), (e) => e.name === "AbortError" || this.fill([], ""));
      return;
    }
    this.ctrl?.abort();
    const c = (this.ctrl = new AbortController());
    const load = (path) => this.req(path, { signal: c.signal }).then((r) => r.json());
    const asked = QUESTION.test(q)
      ? load("/api/answer?q=" + enc(q)).catch((e) => {
          if (e.name === "AbortError") throw e;
          return {}; // no answer box; the results still show
        })
      : {};
    Promise.all([load(`/api/search?q=${enc(q)}&limit=6`), asked]).then(
      ([d, a]) => {
        const n = d.total;
        const acts = d.actions || [];
        this.fill(d.results, this.t("Results"));
        this.actions(acts);
        this.answer(a.answer);
        const said = [];
        if (a.answer) said.push(this.t("Quick answer"));
        if (acts.length) said.push(this.t(...plural(acts.length, "%(num)s quick action", "%(num)s quick actions")));
        said.push(n ? this.t(...plural(n, "%(num)s result", "%(num)s results")) : this.t("no results"));
        const line = said.join(", ");
        this.say(line[0].toUpperCase() + line.slice(1));
        if (!n && !acts.length) this.note(this.smsg, this.t("No results for “%(query)s”. Try other words, or contact us.", { query: q }));
        if (n > d.results.length) {
          this.all.hidden = false;
          this.all.firstChild.href = `${this.base}/search?q=${enc(q)}`;
        }
      },
      (e) => {
        if (e.name === "AbortError") return;
        this.fill([], "");
        this.note(this.smsg, this.t("Search isn't available right now. Please try again."), true);
        this.say(this.t("Search failed"));
      },
    );
  }

  /** Account actions for the query ("Reset your password"): their pages open in a new tab. */
  actions(items) {
    this.acts.replaceChildren(
      ...items.flatMap((x) => {
        const url = safeUrl(x.url, this.base);
        if (!url) return [];
        const a = Object.assign(el("a"), { href: url, target: "_blank", rel: "noopener" });
        a.append(el("span", "t", x.title), el("span", "s", x.summary + (x.sign_in ? " " + this.t("(Sign in needed.)") : "")), el("span", "sr", " " + this.t(NEW_TAB)));
        const li = el("li");
        li.append(a);
        return [li];
      }),
    );
    this.ach.hidden = this.acts.hidden = !this.acts.childElementCount;
  }

  /** The instant answer: its passage as text and a link that opens its section inline. */
  answer(x) {
    const url = x && safeUrl(x.url, this.base);
    this.ans.hidden = !url;
    if (!url) return;
    this.ans.querySelector(".atext").textContent = x.text;
    const a = this.ans.querySelector("a");
    a.href = url;
    a.dataset.slug = x.slug;
    a.textContent = x.heading ? `${x.heading} – ${x.title}` : x.title;
  }

  note(p, text, error = false) {
    p.classList.toggle("msg", !error);
    p.classList.toggle("err", error);
    p.textContent = text;
    p.hidden = false;
  }

  fill(items, label) {
    this.list.replaceChildren(
      ...items.map((r) => {
        const a = el("a");
        const url = safeUrl(r.url, this.base);
        if (url) a.href = url;
        a.dataset.slug = r.slug;
        if (r.slug.includes("/")) {
          a.target = "_blank"; // a manual chapter: read it in the help centre
          a.rel = "noopener";
        }
        const s = el("span", "s");
        r.snippet ? s.append(marked(r.snippet)) : (s.textContent = r.summary || "");
        a.append(el("span", "t", r.title), s);
        const li = el("li");
        li.append(a);
        return li;
      }),
    );
    this.lh.textContent = label;
    this.lh.hidden = this.list.hidden = !items.length;
    this.list.setAttribute("aria-busy", "false");
  }

  // -- the inline article view ----------------------------------------------------------
  follow(e, a, inContent) {
    if (!a || (a.target && !inContent) || e.button || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    const href = a.getAttribute("href") || "";
    if (inContent && href[0] === "#") {
      e.preventDefault();
      this.root.getElementById(decodeURIComponent(href.slice(1)))?.scrollIntoView();
      return;
    }
    const prefix = this.base + "/a/";
    if (inContent && !a.href.startsWith(prefix)) return;
    e.preventDefault();
    if (!inContent) this.from = a;
    this.article(inContent ? decodeURIComponent(a.href.slice(prefix.length).split(/[?#]/)[0]) : a.dataset.slug, a.href, a.querySelector(".t")?.textContent);
  }

  article(slug, url, title) {
    this.show("article");
    this.art.parentNode.scrollTop = 0;
    this.slug = slug;
    this.atitle.textContent = title || "";
    this.content.replaceChildren();
    this.openLink.href = url;
    this.fb.hidden = true;
    this.fbmsg.textContent = "";
    for (const b of this.fb.querySelectorAll("button")) b.disabled = false;
    this.note(this.amsg, this.t("Loading…"));
    this.atitle.focus();
    this.get("/api/articles/" + enc(slug)).then(
      (d) => {
        this.atitle.textContent = d.title;
        this.content.replaceChildren(sanitize(d.html, this.base));
        this.openLink.href = safeUrl(d.url, this.base) || url;
        this.amsg.hidden = true;
        this.fb.hidden = false;
        const id = decodeURIComponent(new URL(url).hash.slice(1));
        if (id) this.root.getElementById(id)?.scrollIntoView();
      },
      (e) => e.name === "AbortError" || this.note(this.amsg, this.t("This page can't be shown here. Open it in the help centre instead.")),
    );
  }

  // -- contact form ----------------------------------------------------------------------
  contact() {
    this.reveal();
    this.show("contact");
    const f = this.cform;
    const sent = this.ctc.querySelector(".sent");
    if (!sent.hidden || !this.idem) {
      f.reset();
      f.hidden = false;
      sent.hidden = true;
      f.querySelector(".cmsg").textContent = "";
      f.querySelector(".primary").disabled = false;
      this.idem = (crypto.randomUUID?.() || String(Math.random()).slice(2) + Date.now()).replace(/[^\w-]/g, "");
    }
    const q = this.input.value.trim();
    if (q && !f.subject.value) f.subject.value = q.slice(0, 200);
    this.ctc.querySelector("h3").focus();
    this.strings().then(() => this.req("/api/contact")).then((r) => r.json()).then(
      (d) => {
        this.statusUrl = d.status_url;
        const sel = f.topic;
        if (!sel.options.length) sel.append(...d.topics.map((t) => new Option(t.label, t.value)));
        const h = this.ctc.querySelector(".hours");
        const on = d.open_now;
        h.hidden = !on;
        if (!on) return;
        h.textContent = `${on.headline}${on.closure ? ` (${on.closure})` : ""}${on.detail ? ": " + on.detail : ""}. `;
        if (!on.open) h.append(this.t("Send us a message and we'll answer when we're back.") + " ");
        const link = d.hours_url && safeUrl(d.hours_url, this.base);
        if (link) {
          const a = Object.assign(el("a", "", this.t("Opening hours")), { href: link, target: "_blank", rel: "noopener" });
          a.append(el("span", "sr", " " + this.t(NEW_TAB)));
          h.append(a);
        }
      },
      () => {}, // no status line; without topics the portal names the problem, and the full form is linked
    );
  }

  submitContact() {
    const f = this.cform;
    const err = f.querySelector(".cerr");
    const btn = f.querySelector(".primary");
    const out = f.querySelector(".cmsg");
    const data = Object.fromEntries(new FormData(f));
    for (const x of f.elements) x.removeAttribute?.("aria-invalid"), x.removeAttribute?.("aria-describedby");
    err.hidden = true;
    btn.disabled = true;
    this.note(out, this.t("Sending…"));
    this.req("/api/requests", {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": this.idem },
      body: JSON.stringify({ kind: "contact", ...data }),
    })
      .then((r) => r.json())
      .then(
        (d) => {
          out.textContent = "";
          f.hidden = true;
          const sent = this.ctc.querySelector(".sent");
          sent.hidden = false;
          const ref = sent.querySelector(".ref");
          ref.textContent = this.t("Thank you. Your reference is %(reference)s.", { reference: d.reference });
          sent.querySelector(".track").href = (this.statusUrl && safeUrl(this.statusUrl, this.base)) || this.base + "/requests/status";
          ref.focus();
          this.say(ref.textContent);
        },
        async (e) => {
          btn.disabled = false;
          out.textContent = "";
          let body = {};
          try {
            body = await e.response.json();
          } catch {}
          const bad = [...f.elements].filter((x) => x.name && body.errors?.[x.name]);
          if (!bad.length) return this.note(out, e.status === 429 ? body.error || this.t(UNSENT) : this.t(UNSENT), true);
          err.textContent = bad.map((x) => body.errors[x.name].replace(/\.?$/, ".")).join(" ");
          err.hidden = false;
          for (const x of bad) x.setAttribute("aria-invalid", "true"), x.setAttribute("aria-describedby", "cerr");
          bad[0].focus();
        },
      );
  }

  // -- surveys --------------------------------------------------------------------------
  ask(kind, context) {
    const nps = kind === "nps";
    if (!nps && kind !== "csat") throw new TypeError('SelfService.ask: kind must be "csat" or "nps"');
    this.kind = kind;
    this.ctx = context === undefined ? this.dataset.context || null : context;
    this.reveal();
    this.show("rate");
    this.strings().then(() => this.rate(nps));
  }

  rate(nps) {
    const f = this.form;
    f.reset();
    f.querySelector(".primary").disabled = false;
    this.ratemsg.textContent = "";
    f.querySelector("legend").textContent = this.t(
      nps ? "How likely are you to recommend us to a friend or colleague?" : "How satisfied are you with your experience today?",
    );
    const [lo, hi] = f.querySelectorAll(".ends span");
    lo.textContent = this.t(nps ? "0 = Not at all likely" : "Very unsatisfied");
    hi.textContent = this.t(nps ? "10 = Extremely likely" : "Very satisfied");
    const scale = f.querySelector(".scale");
    scale.classList.toggle("stars", !nps);
    scale.replaceChildren(
      ...Array.from({ length: nps ? 11 : 5 }, (_, i) => {
        const n = nps ? i : i + 1;
        const label = el("label");
        const input = Object.assign(el("input"), { type: "radio", name: "score", value: n, required: true });
        if (nps) label.append(input, String(n));
        else {
          const star = el("span", "", "★");
          star.setAttribute("aria-hidden", "true");
          label.append(input, star, el("span", "sr", this.t(...plural(n, "%(num)s star", "%(num)s stars"))));
        }
        return label;
      }),
    );
    f.querySelector("input").focus();
  }
}

if (!customElements.get(TAG)) {
  customElements.define(TAG, Widget);
  const widget = () => document.querySelector(TAG) || (document.body || document.documentElement).appendChild(el(TAG));
  window.SelfService = {
    open: (query) => widget().open(query),
    close: () => widget().close(),
    ask: (kind, context) => widget().ask(kind, context),
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", widget);
  else widget();
}
