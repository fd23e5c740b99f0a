// Keystead console behaviours. No inline script (the CSP forbids it): elements opt in with
// data-* attributes, and every page works, less conveniently, without JavaScript.
"use strict";

// Tells the style sheet that the "Menu" button below will work.
document.documentElement.classList.add("js");

function announce(el, text) {
  el.textContent = text;
}

document.addEventListener("DOMContentLoaded", () => {
  // The narrow screen's "Menu" button shows and hides the navigation.
  const menuButton = document.querySelector(".menu-button");
  const nav = document.getElementById("main-nav");
  if (menuButton && nav) {
    menuButton.addEventListener("click", () => {
      const open = nav.classList.toggle("open");
      menuButton.setAttribute("aria-expanded", String(open));
    });
  }
  // A table wider than the screen scrolls in its own box: make that box reachable by keyboard.
  const focusableWhenScrolling = () => {
    for (const table of document.querySelectorAll("main table")) {
      if (table.scrollWidth > table.clientWidth + 1) table.setAttribute("tabindex", "0");
      else table.removeAttribute("tabindex");
    }
  };
  focusableWhenScrolling();
  window.addEventListener("resize", focusableWhenScrolling);
  // One header menu open at a time; Escape or a click elsewhere closes it.
  const menus = Array.from(document.querySelectorAll("details.menu"));
  for (const menu of menus) {
    menu.addEventListener("toggle", () => {
      if (menu.open) for (const other of menus) if (other !== menu) other.open = false;
    });
  }
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    for (const menu of menus) {
      if (menu.open) { menu.open = false; menu.querySelector("summary").focus(); }
    }
  });
  document.addEventListener("click", (event) => {
    for (const menu of menus) if (menu.open && !menu.contains(event.target)) menu.open = false;
  });

  // Copy the text of another element: <button data-copy="#secret">Copy</button>
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      const source = document.querySelector(button.dataset.copy);
      if (!source) return;
      const text = source.value !== undefined && source.tagName === "INPUT" ? source.value : source.innerText;
      const label = button.textContent;
      try {
        await navigator.clipboard.writeText(text.trim());
        button.textContent = "Copied";
      } catch (err) {
        // Clipboard blocked: select the text so the admin can copy it by hand.
        const range = document.createRange();
        range.selectNodeContents(source);
        window.getSelection().removeAllRanges();
        window.getSelection().addRange(range);
        button.textContent = "Press Ctrl+C to copy";
      }
      setTimeout(() => { button.textContent = label; }, 2500);
    });
  }

  // A checkbox that alone enables a button: <input type=checkbox data-enables="#finish">
  for (const box of document.querySelectorAll("[data-enables]")) {
    const target = document.querySelector(box.dataset.enables);
    const sync = () => { if (target) target.disabled = !box.checked; };
    box.addEventListener("change", sync);
    sync();
  }

  // Ask before a consequential submit: <form data-confirm="Disable this client?">
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }

  // Type the name to confirm: <input data-confirm-name="exact name" data-enables-submit="#btn">
  for (const input of document.querySelectorAll("[data-confirm-name]")) {
    const target = document.querySelector(input.dataset.enablesSubmit);
    const sync = () => { if (target) target.disabled = input.value !== input.dataset.confirmName; };
    input.addEventListener("input", sync);
    sync();
  }

  // Redirect URIs, one per line, checked as they are typed (the server checks again).
  for (const area of document.querySelectorAll("textarea[data-validate='redirect-uris']")) {
    const out = document.getElementById(area.dataset.messages);
    const check = () => {
      const problems = [];
      area.value.split("\n").forEach((raw, index) => {
        const line = raw.trim();
        if (!line) return;
        let url;
        try { url = new URL(line); } catch (err) { problems.push(`Line ${index + 1}: not an absolute URI`); return; }
        const loopback = ["127.0.0.1", "[::1]", "localhost"].includes(url.hostname);
        if (line.includes("*")) problems.push(`Line ${index + 1}: wildcards are not allowed`);
        else if (url.hash || line.includes("#")) problems.push(`Line ${index + 1}: must not contain a fragment (#)`);
        else if (url.protocol === "http:" && !loopback) problems.push(`Line ${index + 1}: use https (http only for 127.0.0.1, [::1] or localhost)`);
        else if (url.username || url.password) problems.push(`Line ${index + 1}: must not contain a user name or password`);
        else if (!["http:", "https:"].includes(url.protocol) && !url.protocol.includes(".")) problems.push(`Line ${index + 1}: a private-use scheme must be a reverse domain name, such as com.example.app:/cb`);
      });
      if (out) announce(out, problems.join(" · "));
      area.setAttribute("aria-invalid", problems.length ? "true" : "false");
    };
    area.addEventListener("input", check);
    check();
  }

  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();
});

// The API Explorer: send an operation's form as a call with this console session. The API
// accepts the session only with the page's CSRF token in a header, from this origin.
document.addEventListener("DOMContentLoaded", () => {
  const explorer = document.getElementById("api-explorer");
  if (!explorer) return;
  const token = explorer.dataset.apiCsrf;
  const header = explorer.dataset.apiHeader;
  for (const form of explorer.querySelectorAll("form[data-api-call]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const out = form.querySelector(".api-result");
      const data = new FormData(form);
      let path = form.dataset.path;
      const query = new URLSearchParams();
      for (const [name, value] of data.entries()) {
        if (name.startsWith("path:")) {
          path = path.replace(`{${name.slice(5)}}`, encodeURIComponent(value));
        } else if (name.startsWith("query:") && value !== "") {
          query.append(name.slice(6), value);
        }
      }
      const url = path + (query.toString() ? `?${query}` : "");
      const init = {method: form.dataset.method, credentials: "same-origin",
                    headers: {[header]: token}};
      if (data.has("body")) {
        init.headers["Content-Type"] = "application/json";
        init.body = data.get("body");
      }
      announce(out, "Sending…");
      try {
        const response = await fetch(url, init);
        const text = await response.text();
        let shown = text;
        try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (err) { /* not JSON */ }
        out.replaceChildren();
        const status = document.createElement("p");
        status.className = "api-status";
        status.textContent = `${form.dataset.method} ${url} → ${response.status}`;
        const body = document.createElement("pre");
        body.textContent = shown;
        out.append(status, body);
      } catch (err) {
        announce(out, `The call failed: ${err}`);
      }
    });
  }
});

// The one-time secret page: download the credentials shown as a .env or JSON file. Made here
// from the page's own text, so no request carries the secret again; without JavaScript the
// buttons stay hidden and the values remain on the page to copy.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("downloads");
  if (!box) return;
  const text = (selector) => (document.querySelector(selector)?.textContent || "").trim();
  const values = () => ({
    client_id: text(box.dataset.credentialsId),
    client_secret: text(box.dataset.credentialsSecret),
    token_url: text(box.dataset.credentialsTokenUrl),
  });
  const files = {
    env: (v) => [`CLIENT_ID=${v.client_id}`, `CLIENT_SECRET=${v.client_secret}`,
                 `TOKEN_URL=${v.token_url}`, ""].join("\n"),
    json: (v) => JSON.stringify(v, null, 2) + "\n",
  };
  const types = {env: "text/plain", json: "application/json"};
  for (const button of box.querySelectorAll("[data-download]")) {
    const kind = button.dataset.download;
    button.addEventListener("click", () => {
      const blob = new Blob([files[kind](values())], {type: types[kind]});
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = `${box.dataset.credentialsName}.${kind}`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    });
  }
  box.hidden = false;
});

// Client list bulk actions (issue 14 §2).
document.addEventListener("DOMContentLoaded", () => {
  // "Tick every row": <input type=checkbox data-select-all="ids" hidden>, shown only with script.
  for (const all of document.querySelectorAll("input[data-select-all]")) {
    const boxes = () => Array.from(document.querySelectorAll(
      `input[type=checkbox][name="${all.dataset.selectAll}"]`));
    const sync = () => {
      const ticked = boxes().filter((b) => b.checked).length;
      all.checked = ticked > 0 && ticked === boxes().length;
      all.indeterminate = ticked > 0 && ticked < boxes().length;
    };
    all.hidden = false;
    all.addEventListener("change", () => { for (const b of boxes()) b.checked = all.checked; });
    for (const b of boxes()) b.addEventListener("change", sync);
    sync();
  }
  // Ask before one button of a form: <button data-confirm="Disable the ticked clients?">
  for (const button of document.querySelectorAll("button[data-confirm]")) {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  }
});

// Roles editor: a search box filtering the permission checkboxes as you type, and each
// domain's "n of m chosen". Hidden boxes stay in the form, so saving keeps what they hold.
document.addEventListener("DOMContentLoaded", () => {
  const search = document.querySelector("[data-perm-search]");
  if (!search) return;
  const input = search.querySelector("input");
  const status = search.querySelector("[role=status]");
  const groups = Array.from(document.querySelectorAll("[data-perm-group]"));
  search.hidden = false;
  const count = (group) => {
    const boxes = group.querySelectorAll("input[type=checkbox]");
    const chosen = Array.from(boxes).filter((box) => box.checked).length;
    group.querySelector("[data-perm-count]").textContent = `${chosen} of ${boxes.length} chosen`;
  };
  const filter = () => {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const group of groups) {
      const name = group.querySelector("legend").firstChild.textContent.toLowerCase();
      let inGroup = 0;
      for (const item of group.querySelectorAll("[data-perm]")) {
        const text = `${name} ${item.dataset.perm.toLowerCase()}`;
        const match = words.every((word) => text.includes(word));
        item.hidden = !match;
        if (match) inGroup += 1;
      }
      group.hidden = inGroup === 0;
      shown += inGroup;
    }
    announce(status, words.length ? `${shown} permission${shown === 1 ? "" : "s"} shown` : "");
  };
  input.addEventListener("input", filter);
  // Enter in the search box must not submit the role form.
  input.addEventListener("keydown", (event) => { if (event.key === "Enter") event.preventDefault(); });
  for (const group of groups) group.addEventListener("change", () => count(group));
});
