// Upvote buttons without a page reload: the form still works without JavaScript.
"use strict";
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.classList.contains("vote")) return;
  event.preventDefault();
  const meta = document.querySelector('meta[name="csrf-token"]');
  const id = form.dataset.arxivId;
  const on = form.dataset.voted !== "true";
  const button = form.querySelector("button");
  if (button) button.disabled = true;
  try {
    const response = await fetch(`/api/papers/${id}/vote`, {
      method: on ? "PUT" : "DELETE",
      credentials: "same-origin",
      headers: {"X-CSRF-Token": meta ? meta.content : "", "Accept": "application/json"},
    });
    if (response.status === 401 || response.status === 403) {
      form.submit();  // the server explains (sign in, verify the address)
      return;
    }
    if (!response.ok) return;
    showState(form, await response.json());
  } finally {
    if (button) button.disabled = false;
  }
});

function showState(form, state) {
  form.dataset.voted = state.voted ? "true" : "false";
  const count = form.querySelector(".vote-count");
  if (count) count.textContent = String(state.votes);
  const button = form.querySelector("button");
  if (button) {
    button.setAttribute("aria-pressed", state.voted ? "true" : "false");
    button.title = state.voted ? "Remove your upvote" : "Upvote";
  }
}

// The server renders current counts (and, signed in, whether you voted) into listings and
// paper pages, so those need no second request; cards rendered without a count (search
// results, similar papers) ask once on load. A page restored from the back/forward cache may
// be stale: all its buttons are refreshed then.
async function refresh(forms) {
  if (!forms.length) return;
  const ids = [...new Set(forms.map((f) => f.dataset.arxivId))].slice(0, 100);
  const response = await fetch(`/api/votes?ids=${encodeURIComponent(ids.join(","))}`,
                               {credentials: "same-origin", headers: {"Accept": "application/json"}});
  if (!response.ok) return;
  const states = (await response.json()).votes;
  for (const form of forms) {
    const state = states[form.dataset.arxivId];
    if (state) showState(form, state);
  }
}

function voteForms() {
  return Array.from(document.querySelectorAll("form.vote"));
}

document.addEventListener("DOMContentLoaded", () => {
  refresh(voteForms().filter((f) => {
    const count = f.querySelector(".vote-count");
    return !count || count.textContent.trim() === "";
  }));
});

window.addEventListener("pageshow", (event) => {
  if (event.persisted) refresh(voteForms());
});
