// "Save" buttons without a page reload: the form still works without JavaScript.
"use strict";
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.classList.contains("save")) return;
  event.preventDefault();
  const meta = document.querySelector('meta[name="csrf-token"]');
  const button = form.querySelector("button");
  if (button) button.disabled = true;
  try {
    const response = await fetch("/api/library/save", {
      method: "POST",
      credentials: "same-origin",
      headers: {"X-CSRF-Token": meta ? meta.content : "", "Accept": "application/json",
                "Content-Type": "application/json"},
      body: JSON.stringify({arxiv_id: form.dataset.arxivId,
                            saved: form.dataset.saved !== "true"}),
    });
    if (response.status === 401 || response.status === 403) {
      form.submit();  // the server explains (sign in, verify the address)
      return;
    }
    if (!response.ok) return;
    showSaved(form, (await response.json()).saved);
  } finally {
    if (button) button.disabled = false;
  }
});

function showSaved(form, saved) {
  form.dataset.saved = saved ? "true" : "false";
  const action = form.querySelector('input[name="action"]');
  if (action) action.value = saved ? "remove" : "save";
  const button = form.querySelector("button");
  if (button) {
    button.textContent = saved ? "Saved" : "Save";
    button.setAttribute("aria-pressed", saved ? "true" : "false");
    button.title = saved ? "Remove from your Reading list" : "Save to your Reading list";
  }
}

// Cards rendered without the reader's state (shared, cached parts of a page) ask once.
async function refreshSaved() {
  const forms = Array.from(document.querySelectorAll('form.save[data-saved="unknown"]'));
  if (!forms.length) return;
  const ids = [...new Set(forms.map((f) => f.dataset.arxivId))].slice(0, 100);
  const response = await fetch(`/api/library/saved?ids=${encodeURIComponent(ids.join(","))}`,
                               {credentials: "same-origin", headers: {"Accept": "application/json"}});
  if (!response.ok) return;
  const saved = new Set((await response.json()).saved);
  for (const form of forms) showSaved(form, saved.has(form.dataset.arxivId));
}

document.addEventListener("DOMContentLoaded", refreshSaved);
