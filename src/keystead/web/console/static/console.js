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
